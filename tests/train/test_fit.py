"""textsiam.fit: the one training entry point of the CLI and the Python API."""

from __future__ import annotations

import os
import random

import pytest
import yaml

import textsiam
from textsiam.errors import ConfigError


@pytest.fixture
def text_pairs(tmp_path):
    from fixtures import WORDS

    rng = random.Random(0)
    rows = []
    for i in range(40):
        a = " ".join(rng.sample(WORDS, 5))
        b = a if i % 2 else " ".join(rng.sample(WORDS, 5))
        rows.append(f"{i}\t{a}\t{b}\t{i % 2}\n")
    path = tmp_path / "pairs.tsv"
    path.write_text("id\tsentence1\tsentence2\tlabel\n" + "".join(rows))
    return path


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
    with pytest.raises(ConfigError, match="unknown fit option"):
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
    assert main([*argv, "--quiet"]) == 0
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
