"""The runner of models without gradient training: a closed-form fit (``training_kind = "closed-form"``, the
ridge-map model) or towers with nothing to train (a tf-idf twin). Fitting before training was all; here the model
is saved and the dev pairs are scored once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textsiam.errors import ConfigError
from textsiam.train.evaluation import evaluate_outputs

if TYPE_CHECKING:
    from textsiam.train.trainer import Trainer


def fit_without_gradients(trainer: Trainer, resume: bool) -> dict[str, Any]:
    """Finish ``trainer``'s run of a model that was fitted (``Trainer.train`` fitted it) and has no steps to run;
    returns the summary."""
    if resume:
        raise ConfigError("this model has no trainable parameters, so there is nothing to resume")
    model, records = trainer.model, trainer.records
    trainer.start_records()
    if trainer.evaluates:
        outputs = model.pair_outputs(trainer.dev_data.a, trainer.dev_data.b, trainer.config.eval_batch_size)
        metrics, _ = evaluate_outputs(outputs, trainer.dev_data, model)
        records.log({"type": "eval", "epoch": 0, "step": 0, "metrics": metrics})
        trainer.best = float(metrics[trainer.metric])
    records.save_model(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    summary = {"epochs": 0, "steps": 0, "train_seconds": 0.0, "trainable_parameters": trainable}
    summary |= {"best_metric": trainer.metric, "best_value": trainer.best}
    records.end(summary)
    return summary
