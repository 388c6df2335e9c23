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
    import textsiam.api as api

    spy = Spy(api.search_files, 2)
    monkeypatch.setattr(api, "search_files", spy)
    argv = ["search", "--model", "m", "--queries", "q.txt", "--corpus", "c.txt", "--index", "idx", "--top-k", "3"]
    argv += ["--output", "o.jsonl", "--column", "text", "--id-column", "id", "--index-type", "faiss", "--ann", "ivf"]
    argv += ["--rerank", "cross-dir", "--rerank-top", "5"]
    assert main([*argv, "--batch-size", "7", "--quiet", "--quantize", "int8", "--compile", "--dtype", "auto"]) == 0
    assert spy.calls == [
        {
            "model_name": "m",
            "rerank": "cross-dir",
            "rerank_top": 5,
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
            "dtype": "auto",
            "compile": True,
            "show_progress": False,
        }
    ]


def test_encode_passes_every_flag(monkeypatch, capsys):
    import textsiam.api as api

    spy = Spy(api.encode, SimpleNamespace(rows=5, dim=4, main=True))
    monkeypatch.setattr(api, "encode", spy)
    argv = ["encode", "--model", "m", "--input", "in.csv", "--output", "out.npy", "--side", "right"]
    argv += ["--dim", "4"]
    argv += ["--column", "t", "--format", "csv", "--batch-size", "9", "--quantize", "int8", "--dtype", "auto"]
    assert main([*argv, "--compile"]) == 0
    assert "wrote 5 x 4 embeddings to out.npy" in capsys.readouterr().err
    assert spy.calls == [
        {
            "model": "m",
            "quantize": "int8",
            "dtype": "auto",
            "compile": True,
            "input": "in.csv",
            "output": "out.npy",
            "side": "right",
            "batch_size": 9,
            "column": "t",
            "format": "csv",
            "dim": 4,
            "show_progress": True,
        }
    ]


def _model_command_flags(call: dict) -> dict:
    """What the pair commands pass besides their own flags: the run flags and the data-reading keywords (the
    reading options whose flags were given, and ``format``)."""
    read = {"format": "tsv", "text_a": "x", "text_b": "y", "label": "z", "limit": 5, "label_range": (1.0, 5.0)}
    assert {k: call.pop(k) for k in read} == read
    assert call.pop("show_progress") is False
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
    assert (
        main([command, "--model", "m", *extra, "--quantize", "int8", "--compile", "--dtype", "auto", *DATA_FLAGS]) == 0
    )
    call = _model_command_flags(spy.calls[0])
    flags = {"batch_size": 3, "device": "cpu", "quantize": "int8", "dtype": "auto", "compile": True}
    assert call == {"model": "m", **flags, **expected}


def test_score_of_one_pair_passes_the_pair_and_the_run_flags(monkeypatch, capsys):
    import textsiam.api as api

    spy = Spy(api.score_texts, {"score": [0.25]})
    monkeypatch.setattr(api, "score_texts", spy)
    assert main(["score", "--model", "m", "--a", "x", "--b", "y", "--batch-size", "2", "--dtype", "bf16"]) == 0
    expected = {"model": "m", "a": ["x"], "b": ["y"], "batch_size": 2, "device": None, "quantize": None}
    assert spy.calls == [{**expected, "dtype": "bf16", "compile": False}]
    assert "score: 0.25" in capsys.readouterr().out


def test_score_of_an_image_passes_the_run_and_precision_flags(monkeypatch, capsys):
    import textsiam.api as api

    spy = Spy(api.rank_images_texts, api.Ranked("i.png", ["a text"], True, [0], {"score": ["0.500000"]}))
    monkeypatch.setattr(api, "rank_images_texts", spy)
    argv = ["score", "--model", "m", "--image", "i.png", "--text", "a text", "--texts-file", "t.txt"]
    assert main([*argv, "--image-dir", "d", "--batch-size", "2", "--device", "cpu", "--dtype", "bf16"]) == 0
    assert spy.calls == [
        {
            "model": "m",
            "images": ["i.png"],
            "texts": ["a text"],
            "image_dir": "d",
            "texts_file": "t.txt",
            "batch_size": 2,
            "device": "cpu",
            "quantize": None,
            "dtype": "bf16",
            "compile": False,
        }
    ]
    assert "0.500000" in capsys.readouterr().out


def test_data_get_passes_every_flag(monkeypatch, tmp_path):
    import textsiam.api as api

    entry = SimpleNamespace(embedded=False, read="--format stsb")
    spy = Spy(api.get_dataset, SimpleNamespace(entry=entry, written=[(tmp_path / "sts-test.csv", 3)]))
    monkeypatch.setattr(api, "get_dataset", spy)
    assert main(["data", "get", "stsb", "--to", "out", "--from", "copy", "--quiet"]) == 0
    assert spy.calls == [{"name": "stsb", "to": "out", "from_dir": "copy", "show_progress": False}]


def test_export_passes_every_flag_and_prints_what_the_format_drops(monkeypatch, capsys):
    import textsiam.api as api

    spy = Spy(api.export, SimpleNamespace(out="o", dropped=["projection"]))
    monkeypatch.setattr(api, "export", spy)
    assert main(["export", "--model", "m", "--format", "hf", "--out", "o"]) == 0
    assert main(["export", "--model", "m", "--format", "onnx", "--quantize", "int8", "--out", "o"]) == 0
    assert spy.calls == [
        {"model": "m", "out": "o", "format": "hf", "quantize": None},
        {"model": "m", "out": "o", "format": "onnx", "quantize": "int8"},
    ]
    out = capsys.readouterr().out
    assert "wrote o (hf)" in out and "wrote o (onnx, int8)" in out


def test_demo_passes_every_flag(monkeypatch, capsys):
    import textsiam.api as api

    spy = Spy(api.demo, None)
    monkeypatch.setattr(api, "demo", spy)
    assert main(["demo", "--out", "d", "--epochs", "2", "--seed", "5", "--skip-pretrained", "--quiet"]) == 0
    (call,) = spy.calls
    assert call.pop("report") is not None
    assert call == {"out": "d", "epochs": 2, "seed": 5, "pretrained": False, "show_progress": False}
    assert "model saved to d" in capsys.readouterr().out


def test_train_passes_every_flag_to_fit_under_its_parameter_name(monkeypatch):
    import textsiam.api as api

    spy = Spy(api.fit, SimpleNamespace(summary={"epochs": 1}, decision=None, out="o", main=True))
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
    argv += ["--report-to", "tensorboard", "mlflow", "--early-stopping", "2"]
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
        "report_to": ["tensorboard", "mlflow"],
        "early_stopping": 2,
        "threshold_strategy": "youden",
        "calibrate": "platt",
        "device": "cpu",
        "format": "tsv",
        "text_a": "x",
        "text_b": "y",
        "label": "z",
        "limit": 5,
        "label_range": (1.0, 5.0),
        "split": "test",
        "pairs": 7,
        "skip_bad_rows": True,
        "hard_negatives": True,
        "bodies": "b.csv",
    }
    assert set(call) - {"config", "resume", "overwrite", "show_progress", "epoch_lines"} <= _fit_settings()


def _fit_settings() -> set[str]:
    """Every setting fit takes: the fields of RunSettings, ReadOptions (with format) and TrainConfig."""
    from textsiam.api.settings import setting_names

    return set(setting_names())
