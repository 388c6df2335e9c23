"""The trainer picks its step machinery from ``PairModel.training_kind`` (``textsiam/train/steps.py``); closed-form
models go to the runner without gradient steps (``textsiam/train/no_gradient.py``)."""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers.fixtures import register_for_test
from textsiam.data import digit_pairs
from textsiam.encoders import MlpEncoder
from textsiam.errors import ConfigError
from textsiam.models import TwinModel
from textsiam.registry import PAIR_MODELS
from textsiam.train import TrainConfig, Trainer
from textsiam.train.steps import STEPS, EmbeddingSteps, step_class


class ClosedForm(TwinModel):
    """A toy closed-form model: its fit records the pairs it saw; its (trainable) weights are never stepped."""

    training_kind = "closed-form"

    def fit_closed_form(self, data):
        return {"rows": len(data)}


def test_the_kinds_and_their_step_classes():
    from textsiam.train.pair_step import PairSteps

    assert STEPS == {"embeddings": EmbeddingSteps, "pairs": PairSteps}
    assert step_class(TwinModel(MlpEncoder())) is EmbeddingSteps
    assert step_class(ClosedForm(MlpEncoder())) is None


def test_a_kind_the_trainer_does_not_run_is_a_config_error():
    class Unknown(TwinModel):
        training_kind = "triplets"

    with pytest.raises(
        ConfigError, match=r"Unknown declares training_kind 'triplets'; the trainer runs \['closed-form', "
    ):
        Trainer(Unknown(MlpEncoder()), TrainConfig(), digit_pairs("train", n_pairs=10), show_progress=False)


def test_a_closed_form_model_is_fitted_saved_and_scored_without_gradient_steps(tmp_path, monkeypatch):
    register_for_test(monkeypatch, PAIR_MODELS, "test-closed-form", ClosedForm)  # saving names the model's class
    torch.manual_seed(0)
    model = ClosedForm(MlpEncoder(in_features=64))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train, dev = digit_pairs("train", n_pairs=40), digit_pairs("dev", n_pairs=20)
    summary = Trainer(model, TrainConfig(epochs=3), train, dev, tmp_path, show_progress=False).train()
    assert summary["steps"] == 0 and summary["trainable_parameters"] == sum(p.numel() for p in model.parameters())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # no step moved a weight
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log[0] == {"type": "fit_vocabulary", "towers": {"closed_form": {"rows": 40}}}
    assert log[1]["type"] == "eval" and summary["best_value"] == log[1]["metrics"][summary["best_metric"]]
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "train_summary.json").exists()
    with pytest.raises(ConfigError, match="nothing to resume"):
        Trainer(ClosedForm(MlpEncoder(in_features=64)), TrainConfig(), train, show_progress=False).train(resume=True)
