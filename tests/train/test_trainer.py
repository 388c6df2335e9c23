from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textsiam.data import digit_pairs
from textsiam.errors import ConfigError
from textsiam.models import create_model, load_model
from textsiam.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def digits():
    return digit_pairs("train", n_pairs=600), digit_pairs("dev", n_pairs=200)


def _cfg(**kw) -> TrainConfig:
    base = {"loss": "contrastive", "epochs": 2, "batch_size": 64, "lr": 1e-3, "warmup_ratio": 0.0, "log_every": 2}
    return TrainConfig(**{**base, **kw})


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_training_improves_dev_auc_and_keeps_best(digits, tmp_path):
    train, dev = digits
    model = create_model("digits-mlp-twin")
    before = Trainer(model, _cfg(), train, dev, show_progress=False)
    from textsiam.train.evaluation import evaluate_scores

    auc0 = evaluate_scores(model.similarity_scores(dev.a, dev.b), dev)["roc_auc"]
    summary = Trainer(model, _cfg(epochs=3), train, dev, tmp_path, show_progress=False).train()
    assert before.metric == "roc_auc" and summary["best_value"] > max(auc0, 0.9)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    evals = [r for r in log if r["type"] == "eval"]
    assert [r["epoch"] for r in evals] == [1, 2, 3]
    assert any(r["type"] == "step" and np.isfinite(r["loss"]) for r in log)
    best = max(r["metrics"]["roc_auc"] for r in evals)
    assert summary["best_value"] == pytest.approx(best)
    saved = load_model(tmp_path)  # the best epoch, not necessarily the last
    saved_auc = evaluate_scores(saved.similarity_scores(dev.a, dev.b), dev)["roc_auc"]
    assert saved_auc == pytest.approx(best, abs=1e-9)


def test_same_seed_same_weights_other_seed_differs(digits):
    train, _ = digits
    runs = []
    for seed in (3, 3, 4):
        torch.manual_seed(123)  # same initial weights for all three
        model = create_model("digits-mlp-twin")
        Trainer(model, _cfg(seed=seed), train, show_progress=False).train()
        runs.append(_weights(model))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_resume_after_interrupt_reaches_the_same_weights(digits, tmp_path, monkeypatch):
    train, dev = digits
    torch.manual_seed(0)
    init = _weights(create_model("digits-mlp-twin"))

    def fresh():
        model = create_model("digits-mlp-twin")
        model.load_state_dict(init)
        return model

    straight = fresh()
    Trainer(straight, _cfg(epochs=3), train, dev, tmp_path / "a", show_progress=False).train()

    original = Trainer._end_epoch

    def interrupt_after_epoch_2(self, epoch, *args):
        original(self, epoch, *args)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_end_epoch", interrupt_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        Trainer(fresh(), _cfg(epochs=3), train, dev, tmp_path / "b", show_progress=False).train()
    monkeypatch.setattr(Trainer, "_end_epoch", original)
    resumed = create_model("digits-mlp-twin")  # different random init: everything must come from the checkpoint
    summary = Trainer(resumed, _cfg(epochs=3), train, dev, tmp_path / "b", show_progress=False).train(resume=True)
    assert summary["steps"] == 3 * int(np.ceil(len(train) / 64))
    final_a, final_b = _weights(straight), _weights(resumed)
    assert all(torch.equal(final_a[k], final_b[k]) for k in final_a)
    epochs_logged = [json.loads(x)["epoch"] for x in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()]
    assert sorted(set(epochs_logged)) == [1, 2, 3]


def test_bad_configuration_is_rejected(digits):
    train, _ = digits
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="unknown training option"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="learned head"):
        Trainer(create_model("digits-mlp-twin"), _cfg(loss="bce"), train, show_progress=False)
