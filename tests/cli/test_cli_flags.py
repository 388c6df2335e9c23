"""Every flag of a command reaches the library function it calls (cli/common.call_with_flags passes the flags
named like the function's parameters): each command is run with all its flags set against a spy."""

from __future__ import annotations

import argparse
import inspect
from types import SimpleNamespace

import pytest

from textsiam.cli.common import call_with_flags
from textsiam.cli.main import main


class Spy:
    """Stands in for a library function: same signature, records the keywords it is called with."""

    def __init__(self, real, result):
        self.__signature__ = inspect.signature(real)
        self.result, self.calls = result, []

    def __call__(self, *args, **kwargs):
        assert not args, "flags are passed by keyword"
        self.calls.append(kwargs)
        return self.result


def test_call_with_flags_passes_the_flags_named_like_parameters_and_the_given_values():
    def library(model, data, batch_size=64, *, device=None, **read):
        return model, data, batch_size, device, read

    args = argparse.Namespace(model="m", data="d", batch_size=8, device="cpu", quiet=True, func=print)
    assert call_with_flags(library, args, data="loaded", label="y") == ("m", "loaded", 8, "cpu", {"label": "y"})


def test_search_passes_every_flag(monkeypatch):
    import textsiam.index.files as files

    spy = Spy(files.search_files, 2)
    monkeypatch.setattr(files, "search_files", spy)
    argv = ["search", "--model", "m", "--queries", "q.txt", "--corpus", "c.txt", "--index", "idx", "--top-k", "3"]
    argv += ["--output", "o.jsonl", "--column", "text", "--id-column", "id", "--index-type", "faiss", "--ann", "ivf"]
    assert main([*argv, "--batch-size", "7", "--quiet", "--quantize", "int8"]) == 0
    assert spy.calls == [
        {
            "model_name": "m",
            "queries": "q.txt",
            "corpus": "c.txt",
            "index_dir": "idx",
            "top_k": 3,
            "output": "o.jsonl",
            "column": "text",
            "id_column": "id",
            "index_type": "faiss",
            "ann_kind": "ivf",
            "batch_size": 7,
            "quantize": "int8",
            "show_progress": False,
        }
    ]


def test_encode_passes_every_flag(monkeypatch):
    import textsiam.deploy.quantize as quantize
    import textsiam.index as index

    model = SimpleNamespace(embedding_dim=4)
    monkeypatch.setattr(quantize, "load_for_inference", lambda name, q: model if (name, q) == ("m", "int8") else None)
    spy = Spy(index.encode_file, 5)
    monkeypatch.setattr(index, "encode_file", spy)
    argv = ["encode", "--model", "m", "--input", "in.csv", "--output", "out.npy", "--side", "right"]
    assert main([*argv, "--column", "t", "--format", "csv", "--batch-size", "9", "--quantize", "int8"]) == 0
    assert spy.calls == [
        {
            "model": model,
            "input": "in.csv",
            "output": "out.npy",
            "side": "right",
            "batch_size": 9,
            "column": "t",
            "format": "csv",
            "show_progress": True,
        }
    ]


def _model_command_flags(call: dict) -> dict:
    """What the pair commands pass besides their own flags: the run flags and the data-reading keywords."""
    read = {"format": "tsv", "text_a": "x", "text_b": "y", "label": "z", "limit": 5, "label_range": (1.0, 5.0)}
    assert {k: call.pop(k) for k in read} == read
    assert call.pop("bodies") is None and call.pop("show_progress") is False
    return call


DATA_FLAGS = ["--format", "tsv", "--text-a", "x", "--text-b", "y", "--label", "z", "--limit", "5"]
DATA_FLAGS += ["--label-range", "1", "5", "--device", "cpu", "--batch-size", "3", "--quiet"]


def test_tune_threshold_passes_every_flag(monkeypatch):
    import textsiam.api as api

    spy = Spy(api.tune_threshold, SimpleNamespace(strategy="max-f1", threshold=0.5, metrics={"f1": 1.0}))
    monkeypatch.setattr(api, "tune_threshold", spy)
    argv = ["tune-threshold", "--model", "m", "--data", "d.tsv", "--strategy", "max-f1", "--target", "0.1"]
    argv += ["--calibrate", "platt", "--cv", "3", "--bootstrap", "10", "--seed", "4", "--out", "o", *DATA_FLAGS]
    assert main(argv) == 0
    assert _model_command_flags(spy.calls[0]) == {
        "model": "m",
        "data": "d.tsv",
        "strategy": "max-f1",
        "target": 0.1,
        "calibrate": "platt",
        "cv": 3,
        "bootstrap": 10,
        "seed": 4,
        "batch_size": 3,
        "device": "cpu",
        "save_to": "o",
    }


@pytest.mark.parametrize(
    "command, target, result, extra, expected",
    [
        (
            "evaluate",
            "evaluate",
            ({"roc_auc": 0.5}, None),
            ["--data", "d.tsv", "--report", "r"],
            {"data": "d.tsv", "report": "r"},
        ),
        ("score", "score_file", 2, ["--pairs", "p.tsv", "--out", "o.tsv"], {"pairs": "p.tsv", "out": "o.tsv"}),
    ],
)
def test_evaluate_and_score_pass_every_flag(monkeypatch, command, target, result, extra, expected):
    import textsiam.api as api

    spy = Spy(getattr(api, target), result)
    monkeypatch.setattr(api, target, spy)
    assert main([command, "--model", "m", *extra, "--quantize", "int8", *DATA_FLAGS]) == 0
    call = _model_command_flags(spy.calls[0])
    assert call == {"model": "m", "batch_size": 3, "device": "cpu", "quantize": "int8", **expected}


def test_score_of_one_pair_passes_the_pair_and_the_run_flags(monkeypatch, capsys):
    import textsiam.api as api

    spy = Spy(api.score_texts, {"score": [0.25]})
    monkeypatch.setattr(api, "score_texts", spy)
    assert main(["score", "--model", "m", "--a", "x", "--b", "y", "--batch-size", "2", "--quantize", "int8"]) == 0
    assert spy.calls == [{"model": "m", "a": ["x"], "b": ["y"], "batch_size": 2, "device": None, "quantize": "int8"}]
    assert "score: 0.25" in capsys.readouterr().out


def test_data_get_passes_every_flag(monkeypatch, tmp_path):
    import textsiam.data.fetch as fetch

    spy = Spy(fetch.get_dataset, [(tmp_path / "sts-test.csv", 3)])
    monkeypatch.setattr(fetch, "get_dataset", spy)
    assert main(["data", "get", "stsb", "--to", "out", "--from", "copy", "--quiet"]) == 0
    assert spy.calls == [{"name": "stsb", "to": "out", "from_dir": "copy", "show_progress": False}]


def test_train_passes_every_flag_to_fit_under_its_parameter_name(monkeypatch):
    import textsiam.api as api

    spy = Spy(api.fit, SimpleNamespace(summary={"epochs": 1}, decision=None, out="o"))
    monkeypatch.setattr(api, "fit", spy)
    argv = ["train", "--preset", "p", "--model", "m", "--train", "t.tsv", "--dev", "d.tsv", "--dev-fraction", "0.2"]
    argv += ["--dev-split", "topic"]
    argv += [
        "--out",
        "o",
        "--config",
        "c.yaml",
        "--loss",
        "cosent",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--lr",
        "0.1",
    ]
    argv += ["--seed", "3", "--warmup-ratio", "0.2", "--weight-decay", "0.5", "--max-grad-norm", "2", "--amp"]
    argv += ["--eval-metric", "f1", "--resume", "--overwrite", "--keep-checkpoint", "--threshold-strategy", "youden"]
    argv += ["--calibrate", "platt", "--device", "cpu", "--quiet", "--split", "test", "--pairs", "7"]
    argv += ["--skip-bad-rows", "--hard-negatives", "--bodies", "b.csv"]
    argv += DATA_FLAGS[: DATA_FLAGS.index("--device")]
    assert main(argv) == 0
    (call,) = spy.calls
    assert call.pop("echo") is not None
    assert call == {
        "config": "c.yaml",
        "resume": True,
        "overwrite": True,  # a flag of fit's own, not a run setting
        "show_progress": False,
        "epoch_lines": False,
        "preset": "p",
        "model": "m",
        "train": "t.tsv",
        "dev": "d.tsv",
        "dev_fraction": 0.2,
        "dev_split": "topic",
        "out": "o",
        "loss": "cosent",
        "epochs": 2,
        "batch_size": 4,
        "lr": 0.1,
        "seed": 3,
        "warmup_ratio": 0.2,
        "weight_decay": 0.5,
        "max_grad_norm": 2.0,
        "eval_metric": "f1",
        "amp": True,
        "keep_checkpoint": True,
        "threshold_strategy": "youden",
        "calibrate": "platt",
        "device": "cpu",
        "format": "tsv",
        "text_a": "x",
        "text_b": "y",
        "label": "z",
        "limit": 5,
        "label_range": [1.0, 5.0],
        "split": "test",
        "pairs": 7,
        "skip_bad_rows": True,
        "hard_negatives": True,
        "bodies": "b.csv",
    }
    assert set(call) - {"config", "resume", "overwrite", "show_progress", "epoch_lines"} <= _fit_settings()


def _fit_settings() -> set[str]:
    """Every setting fit takes through **options: the run keys and the TrainConfig fields."""
    from textsiam.train.config import TrainConfig
    from textsiam.train.fit import RUN_KEYS

    return set(RUN_KEYS) | set(TrainConfig.field_names())
