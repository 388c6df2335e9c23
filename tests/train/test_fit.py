"""textsiam.fit: the one training entry point of the CLI and the Python API."""

from __future__ import annotations

import os

import pytest
import yaml

import textsiam
from textsiam.errors import ConfigError


@pytest.fixture
def text_pairs(tmp_path):
    from tests.helpers.fixtures import write_word_pairs

    return write_word_pairs(tmp_path / "pairs.tsv")


def test_fit_carves_dev_tunes_a_decision_and_leaves_a_clean_run_folder(tmp_path, text_pairs, tiny_bert_dir):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({"epochs": 3, "lr": 1e-4, "dev_fraction": 0.25}))
    out = tmp_path / "run"
    result = textsiam.fit(
        text_pairs,
        out,
        config=cfg,
        model=tiny_bert_dir,
        epochs=1,  # explicit beats the YAML
        threshold_strategy="max-accuracy",
        calibrate="platt",
        show_progress=False,
    )
    assert result.carved_dev and result.dev_pairs == 10 and result.train_pairs == 30
    settings = yaml.safe_load((out / "train_config.yaml").read_text())
    assert settings["epochs"] == 1 and settings["lr"] == 1e-4 and settings["dev_fraction"] == 0.25
    dev = textsiam.read_pairs(out / "dev_split.tsv")
    assert len(dev) == 10 and result.decision.data["rows"] == 10 and result.decision.calibrator is not None
    assert (out / "decision.json").exists() and textsiam.load_model(out).decision is not None
    assert not (out / "checkpoint").exists()  # removed after a successful run
    modes = {p.name: os.stat(p).st_mode & 0o777 for p in out.iterdir() if p.is_file()}
    assert len(set(modes.values())) == 1, modes  # model.safetensors included


def test_fit_keeps_the_checkpoint_when_asked(tmp_path):
    out = tmp_path / "run"
    textsiam.fit(
        "digits:train", out, preset="digits-mlp-twin", epochs=1, limit=200, keep_checkpoint=True, show_progress=False
    )
    assert (out / "checkpoint" / "state.json").exists() and (out / "model.safetensors").exists()


def test_fit_checks_settings_before_reading_data(tmp_path):
    missing = tmp_path / "missing.tsv"
    with pytest.raises(ConfigError, match="dev_fraction"):
        textsiam.fit(missing, tmp_path / "o", preset="digits-mlp-twin", dev_fraction=1.5)
    with pytest.raises(ConfigError, match="calibrate needs a threshold strategy"):
        textsiam.fit(missing, tmp_path / "o", preset="digits-mlp-twin", dev_fraction=0.2, calibrate="platt")
    with pytest.raises(TypeError, match="epochz"):  # fit is typed: a wrong name fails at the call
        textsiam.fit(missing, tmp_path / "o", preset="digits-mlp-twin", epochz=2)
    with pytest.raises(ConfigError, match="device 'tpu'"):
        textsiam.fit(missing, tmp_path / "o", preset="digits-mlp-twin", device="tpu")
    assert not (tmp_path / "o").exists()


def test_cli_train_without_a_terminal_prints_one_line_per_epoch_and_no_bars(capsys, tmp_path):
    from textsiam.cli.main import main

    argv = ["train", "--preset", "digits-mlp-twin", "--train", "digits:train", "--limit", "300"]
    argv += ["--dev", "digits:dev", "--epochs", "2", "--out", str(tmp_path / "m")]
    assert main(argv) == 0
    err = capsys.readouterr().err  # pytest's capture is not a terminal
    assert "\r" not in err and "it/s" not in err and "batch/s" not in err
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("epoch")] == ["epoch 1/2", "epoch 2/2"]
    assert main([*argv, "--quiet", "--overwrite"]) == 0
    assert "epoch" not in capsys.readouterr().err


def test_fit_trains_a_model_object_and_records_its_config(tmp_path):
    model = textsiam.build_model(
        {
            "pair_model": "pseudo",
            "left": {"name": "mlp", "args": {}},
            "right": {"name": "mlp", "args": {"hidden": 64, "n_layers": 2}},
            "projection_dim": 16,
            "similarity": "euclidean",
        }
    )
    out = tmp_path / "run"
    result = textsiam.fit(
        "digits:train", out, model=model, loss="contrastive", epochs=1, limit=200, show_progress=False
    )
    settings = yaml.safe_load((out / "train_config.yaml").read_text())
    assert settings["model"]["pair_model"] == "pseudo" and settings["model"]["right"]["args"]["hidden"] == 64
    assert result.summary["steps"] > 0 and type(textsiam.load_model(out)).__name__ == "PseudoSiameseModel"


def _fit(pairs, out, model, **kw):
    return textsiam.fit(pairs, out, model=model, epochs=1, batch_size=8, show_progress=False, **kw)


def test_fit_refuses_a_folder_holding_a_run_and_overwrite_replaces_the_whole_run(tmp_path, text_pairs, tiny_bert_dir):
    out = tmp_path / "run"
    _fit(text_pairs, out, tiny_bert_dir, dev_fraction=0.25, threshold_strategy="youden")
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {"decision.json", "dev_split.tsv"} <= set(old)
    with pytest.raises(ConfigError, match="already holds a textsiam run.*--overwrite"):
        _fit(text_pairs, out, tiny_bert_dir, lr=1e-3)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == old  # before: replaced silently
    _fit(text_pairs, out, tiny_bert_dir, lr=1e-3, overwrite=True)
    names = {p.name for p in out.iterdir()}
    assert "decision.json" not in names and "dev_split.tsv" not in names  # before: the old dev split stayed
    assert yaml.safe_load((out / "train_config.yaml").read_text())["lr"] == 1e-3
    assert textsiam.load_model(out).decision is None


def test_overwrite_never_deletes_files_textsiam_did_not_write(tmp_path, text_pairs, tiny_bert_dir):
    out = tmp_path / "run"
    _fit(text_pairs, out, tiny_bert_dir)
    (out / "notes.md").write_text("mine")
    model = (out / "model.safetensors").read_bytes()
    with pytest.raises(ConfigError, match=r"did not write \(notes.md\)"):
        _fit(text_pairs, out, tiny_bert_dir, overwrite=True)
    assert (out / "notes.md").read_text() == "mine" and (out / "model.safetensors").read_bytes() == model


def test_overwrite_can_train_on_from_the_model_in_the_folder(tmp_path, text_pairs, tiny_bert_dir):
    out = tmp_path / "run"
    _fit(text_pairs, out, tiny_bert_dir)
    result = _fit(text_pairs, out, out, overwrite=True)  # the model is loaded before the old run is removed
    assert result.summary["steps"] > 0 and textsiam.load_model(out) is not None


def test_resume_after_an_interrupt_is_not_an_overwrite_and_sums_the_whole_run(tmp_path, text_pairs, monkeypatch):
    import json

    from textsiam.train.trainer import Trainer

    out, original = tmp_path / "run", Trainer._end_epoch

    def stop_after_epoch_1(self, epoch, *args):
        original(self, epoch, *args)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_end_epoch", stop_after_epoch_1)
    run = {"preset": "digits-mlp-twin", "epochs": 3, "limit": 200, "batch_size": 50, "show_progress": False}
    with pytest.raises(KeyboardInterrupt):
        textsiam.fit("digits:train", out, **run)
    monkeypatch.setattr(Trainer, "_end_epoch", original)
    first = json.loads((out / "checkpoint" / "state.json").read_text())
    assert first["epoch"] == 1 and first["pairs_seen"] > 0 and first["train_seconds"] > 0
    summary = textsiam.fit("digits:train", out, resume=True, **run).summary
    # before: the resumed run reported only its own two epochs' seconds and pairs
    assert summary["train_seconds"] > first["train_seconds"]
    assert summary["pairs_per_second"] * summary["train_seconds"] == pytest.approx(3 * first["pairs_seen"])


def test_dev_equal_to_train_warns_and_the_decision_says_it_was_not_held_out(tmp_path, text_pairs, tiny_bert_dir):
    import json
    import shutil

    same = tmp_path / "copy.tsv"
    shutil.copy(text_pairs, same)  # another name, the same bytes
    with pytest.warns(UserWarning, match=r"are the training pairs .*same sha256"):
        result = _fit(text_pairs, tmp_path / "a", tiny_bert_dir, dev=same, threshold_strategy="youden")
    saved = json.loads((tmp_path / "a" / "decision.json").read_text())["data"]
    assert saved["held_out"] is False and saved["same_as_training_pairs"] is True
    assert result.decision.data["held_out"] is False
    other = tmp_path / "other.tsv"
    other.write_text("".join(text_pairs.read_text().splitlines(keepends=True)[:21]))
    result = _fit(text_pairs, tmp_path / "b", tiny_bert_dir, dev=other, threshold_strategy="youden")
    assert "held_out" not in result.decision.data


def test_dev_and_dev_fraction_together_are_refused_before_reading_data(tmp_path):
    missing = tmp_path / "missing.tsv"
    with pytest.raises(ConfigError, match="dev pairs given twice: --dev .* and --dev-fraction 0.2"):
        textsiam.fit(missing, tmp_path / "o", preset="digits-mlp-twin", dev=missing, dev_fraction=0.2)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["twin", "cross"])
def test_amp_on_cpu_trains_the_transformer_under_bf16_autocast(tiny_bert_dir, recwarn, kind):
    import numpy as np
    import torch
    from datasets import Dataset

    from textsiam.data import PairData
    from textsiam.models import build_model, create_model
    from textsiam.train import TrainConfig, Trainer

    if kind == "twin":
        model, loss = create_model(str(tiny_bert_dir)), "cosine"
    else:  # a cross-encoder's steps (train/pair_step.py) autocast too: before, on CUDA only
        encoder = {"name": "hf-transformer", "args": {"model_name_or_path": str(tiny_bert_dir)}}
        model, loss = build_model({"pair_model": "cross", "encoder": encoder}), "bce"
    a, b = ["a man plays the guitar", "a dog runs"] * 8, ["a man plays a guitar", "the cat eats"] * 8
    pairs = PairData(Dataset.from_dict({"a": a, "b": b, "label": [1.0, 0.0] * 8}))
    seen: set[torch.dtype] = set()
    linear = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))  # the first attention projection
    hook = linear.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype) if torch.is_grad_enabled() else None)
    cfg = TrainConfig(loss=loss, epochs=1, batch_size=8, device="cpu", amp=True, save_checkpoints=False)
    Trainer(model, cfg, pairs, show_progress=False).train()
    hook.remove()
    assert seen == {torch.bfloat16}  # every training step's matrix products ran in bf16
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # autocast: the weights stay float32
    assert np.isfinite(model.similarity_scores(a, b)).all()
    assert not [w for w in recwarn if "--amp" in str(w.message)]


@pytest.mark.parametrize("terminal", [False, True])
def test_fit_draws_progress_bars_only_on_a_terminal_like_the_cli(capsys, monkeypatch, tmp_path, terminal):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)  # capsys's stderr is not a terminal
    textsiam.fit("digits:train", tmp_path / "o", preset="digits-mlp-twin", epochs=1, limit=100)
    err = capsys.readouterr().err
    assert ("batch/s" in err) is terminal  # before: bars in a log file too
