"""Trackers and early stopping as trainer callbacks, read back through the trackers' own libraries."""

from __future__ import annotations

import pytest

from textsiam.errors import ConfigError
from textsiam.registry import TRACKERS
from textsiam.train.early_stopping import EarlyStopping
from textsiam.train.tracking import build_trackers, flat_settings

SETTINGS = {"loss": "cosent", "lr": 2e-5, "epochs": 2, "towers": {"encoder": {"freeze": False}}}
RECORDS = [
    {"type": "step", "epoch": 1, "step": 1, "loss": 0.9, "lr": 1e-5},
    {"type": "step", "epoch": 1, "step": 2, "loss": 0.7, "lr": 2e-5},
    {"type": "eval", "epoch": 1, "step": 2, "metrics": {"spearman": 0.61, "pearson": 0.6}},
    {"type": "epoch", "epoch": 1, "step": 2, "train_loss": 0.8},
    {"type": "step", "epoch": 2, "step": 3, "loss": 0.5, "lr": 1e-5},
    {"type": "eval", "epoch": 2, "step": 3, "metrics": {"spearman": 0.72, "pearson": 0.7}},
]
SUMMARY = {"epochs": 2, "steps": 3, "best_metric": "spearman", "best_value": 0.72, "decision": {"threshold": 0.5}}


def run(callback) -> None:
    callback.on_train_begin(SETTINGS)
    for record in RECORDS:
        callback.on_log(record)
    callback.on_train_end(SUMMARY)


def test_tensorboard_event_file_reads_back(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (tracker,) = build_trackers("tensorboard", tmp_path)
    run(tracker)
    events = EventAccumulator(str(tmp_path / "runs"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    loss = [(e.step, round(e.value, 6)) for e in events.Scalars("train/loss")]
    assert loss == [(1, 0.9), (2, 0.7), (3, 0.5)]
    assert [round(e.value, 6) for e in events.Scalars("train/lr")] == [1e-5, 2e-5, 1e-5]
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("dev/spearman")] == [(2, 0.61), (3, 0.72)]
    assert [round(e.value, 6) for e in events.Scalars("epoch/train_loss")] == [0.8]
    assert [round(e.value, 6) for e in events.Scalars("summary/best_value")] == [0.72]
    texts = {tag: events.Tensors(tag)[0].tensor_proto.string_val[0].decode() for tag in events.Tags()["tensors"]}
    assert (
        "| loss | cosent |" in texts["settings/text_summary"]
        and "towers.encoder.freeze" in texts["settings/text_summary"]
    )
    assert '"threshold": 0.5' in texts["summary/text_summary"]


def test_mlflow_file_store_reads_back(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    (tracker,) = build_trackers(["mlflow"], tmp_path)
    run(tracker)
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    (found,) = client.search_runs([client.get_experiment_by_name("textsiam").experiment_id])
    assert found.info.status == "FINISHED"
    assert found.data.params["loss"] == "cosent" and found.data.params["lr"] == "2e-05"
    assert found.data.params["towers.encoder.freeze"] == "false"
    history = client.get_metric_history(found.info.run_id, "train/loss")
    assert [(m.step, round(m.value, 6)) for m in history] == [(1, 0.9), (2, 0.7), (3, 0.5)]
    assert [m.value for m in client.get_metric_history(found.info.run_id, "dev/spearman")] == [0.61, 0.72]
    assert found.data.metrics["summary/best_value"] == 0.72
    assert found.data.tags["summary.best_metric"] == "spearman"
    summary = client.download_artifacts(found.info.run_id, "summary.json", str(tmp_path))
    assert '"threshold": 0.5' in open(summary, encoding="utf-8").read()


def test_report_to_none_and_unknown_names():
    assert build_trackers("none", None) == [] and build_trackers(None, None) == []
    with pytest.raises(ConfigError, match="unknown tracker 'tensorbord'. Did you mean 'tensorboard'"):
        build_trackers(["tensorbord"], None)
    with pytest.raises(ConfigError, match="mixes 'none'"):
        build_trackers(["none", "mlflow"], None)
    assert set(TRACKERS.names()) == {"tensorboard", "mlflow"}


def test_flat_settings():
    assert flat_settings({"a": {"b": 1, "c": {"d": "x"}}, "e": [1, 2], "f": None, "g": {}}) == {
        "a.b": "1", "a.c.d": "x", "e": "[1, 2]", "f": "null", "g": "{}"
    }  # fmt: skip


def feed(stopper: EarlyStopping, values: list[float | None]) -> int | None:
    """The epoch at which the stopper asks to stop, given the dev value of each epoch (None: no dev data)."""
    stopper.on_train_begin({"eval_metric": "spearman"})
    for epoch, value in enumerate(values, start=1):
        if value is not None:
            stopper.on_log({"type": "eval", "epoch": epoch, "metrics": {"spearman": value}})
        if stopper.on_epoch_end(epoch, {"type": "epoch", "epoch": epoch}):
            return epoch
    return None


def test_early_stopping_counts_epochs_without_gain():
    assert feed(EarlyStopping(2), [0.5, 0.6, 0.59, 0.6, 0.7]) == 4  # 0.59, then 0.6 (not > 0.6): two without gain
    assert feed(EarlyStopping(2), [0.5, 0.6, 0.59, 0.61, 0.6, 0.6]) == 6
    assert feed(EarlyStopping(1, min_delta=0.05), [0.5, 0.52]) == 2  # a gain below min_delta is no gain
    assert feed(EarlyStopping(1), [None, None, None]) is None  # no dev data: never stops
    assert feed(EarlyStopping(3), [0.5, float("nan"), 0.4, 0.4]) is None  # NaN is skipped, not counted
    stopper = EarlyStopping(1, metric="pearson")
    stopper.on_train_begin({"eval_metric": None})
    assert not stopper.on_epoch_end(1, {"metrics": {"pearson": 0.5}})
    assert stopper.on_epoch_end(2, {"metrics": {"pearson": 0.4}}) and stopper.stopped_epoch == 2


@pytest.mark.parametrize("patience", [0, -1, 1.5, True, "2"])
def test_early_stopping_patience_is_checked(patience):
    with pytest.raises(ConfigError, match=f"patience must be an integer >= 1 \\(epochs\\), got {patience!r}"):
        EarlyStopping(patience)
