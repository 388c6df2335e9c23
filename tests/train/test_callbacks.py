"""Trainer callbacks (``textsiam.train.callbacks``): they see every log record, may stop the run after an epoch,
and the best dev epoch is still the one left in the model and saved."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import textsiam
import textsiam.train.trainer as trainer_module
from textsiam.data import digit_pairs
from textsiam.errors import ConfigError
from textsiam.models import create_model
from textsiam.train import Callback, TrainConfig, Trainer

CFG = {"epochs": 5, "batch_size": 50, "lr": 1e-3, "warmup_ratio": 0.0, "log_every": 2}


class Recorder(Callback):
    """Keeps what it is told; asks to stop after ``stop_at``; snapshots the weights at each epoch's end."""

    def __init__(self, model=None, stop_at: int | None = None) -> None:
        self.model, self.stop_at = model, stop_at
        self.settings, self.records, self.epochs, self.summary = None, [], [], None
        self.weights: dict[int, dict[str, torch.Tensor]] = {}

    def on_train_begin(self, settings):
        self.settings = settings

    def on_log(self, record):
        self.records.append(record)

    def on_epoch_end(self, epoch, record):
        self.epochs.append((epoch, record))
        if self.model is not None:
            self.weights[epoch] = {k: v.clone() for k, v in self.model.state_dict().items()}
        return epoch == self.stop_at

    def on_train_end(self, summary):
        self.summary = summary


def _scripted_dev(monkeypatch, values: list[float]) -> None:
    """The dev metric of epoch i is ``values[i - 1]`` (the real metrics otherwise), so the best epoch is known."""
    real, it = trainer_module.evaluate_outputs, iter(values)

    def scripted(outputs, data, model):
        metrics, scores = real(outputs, data, model)
        return metrics | {"roc_auc": next(it)}, scores

    monkeypatch.setattr(trainer_module, "evaluate_outputs", scripted)


def test_a_callback_stops_the_run_and_the_best_epoch_is_restored_and_saved(tmp_path, monkeypatch):
    train, dev = digit_pairs("train", n_pairs=200), digit_pairs("dev", n_pairs=100)
    _scripted_dev(monkeypatch, [0.7, 0.9, 0.6, 0.99, 0.99])  # epoch 2 is the best of the first three
    model = create_model("digits-mlp-twin", seed=0)
    spy = Recorder(model, stop_at=3)
    summary = Trainer(model, TrainConfig(**CFG), train, dev, tmp_path, show_progress=False, callbacks=[spy]).train()
    assert summary["stopped_after_epoch"] == 3 and summary["steps"] == 3 * 4  # 200 pairs in batches of 50
    assert summary["best_metric"] == "roc_auc" and summary["best_value"] == 0.9
    assert [epoch for epoch, _ in spy.epochs] == [1, 2, 3]  # epochs 4 and 5 never ran
    assert [record["best_value"] for _, record in spy.epochs] == [0.7, 0.9, 0.9]
    assert spy.epochs[1][1]["metrics"]["roc_auc"] == 0.9 and spy.epochs[1][1]["type"] == "epoch"
    best, last = spy.weights[2], spy.weights[3]
    assert any(not torch.equal(best[k], last[k]) for k in best)  # the stopping epoch is not the best one
    assert all(torch.equal(model.state_dict()[k], v) for k, v in best.items())  # restored in the Python model
    saved = load_file(tmp_path / "model.safetensors")
    assert all(torch.equal(saved[k], v) for k, v in best.items())  # and the one saved
    assert spy.summary == summary and json.loads((tmp_path / "train_summary.json").read_text()) == summary


def test_on_log_sees_every_record_of_the_train_log(tmp_path):
    train, dev = digit_pairs("train", n_pairs=200), digit_pairs("dev", n_pairs=100)
    spy = Recorder()
    cfg = TrainConfig(**CFG | {"epochs": 2})
    trainer = Trainer(create_model("digits-mlp-twin", seed=0), cfg, train, dev, tmp_path, False, callbacks=[spy])
    trainer.train()
    written = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert spy.records == written
    kinds = [r["type"] for r in spy.records]
    assert kinds.count("step") == 4 and kinds.count("eval") == 2 and kinds.count("epoch") == 2  # 8 steps, log_every 2
    assert {"epoch", "step", "loss", "lr"} <= set(next(r for r in spy.records if r["type"] == "step"))
    assert spy.settings == cfg.to_dict() and spy.summary["epochs"] == 2 and "stopped_after_epoch" not in spy.summary


def test_callbacks_are_called_without_an_output_folder_or_dev_data():
    spy = Recorder(stop_at=1)
    train = digit_pairs("train", n_pairs=100)
    summary = Trainer(create_model("digits-mlp-twin", seed=0), TrainConfig(**CFG), train, callbacks=[spy]).train()
    assert summary["stopped_after_epoch"] == 1 and summary["steps"] == 2
    assert "metrics" not in spy.epochs[0][1] and spy.epochs[0][1]["best_value"] is None
    assert [r["type"] for r in spy.records] == ["step", "epoch"]


def test_fit_passes_its_callbacks_to_the_trainer(tmp_path):
    spy = Recorder(stop_at=1)
    run = {"preset": "digits-mlp-twin", "epochs": 3, "limit": 200, "batch_size": 50, "show_progress": False}
    result = textsiam.fit("digits:train", tmp_path / "run", callbacks=[spy], **run)
    assert result.summary["stopped_after_epoch"] == 1 and spy.settings["epochs"] == 3


def test_something_that_is_not_a_callback_is_a_config_error():
    with pytest.raises(ConfigError, match=r"callbacks\[1\] is a function, not a textsiam.train.callbacks.Callback"):
        Trainer(
            create_model("digits-mlp-twin"),
            TrainConfig(),
            digit_pairs("train", n_pairs=10),
            callbacks=[Callback(), lambda record: None],
        )
