"""The model card (README.md) of a saved model folder, written from a real (tiny) training run's files."""

from __future__ import annotations

import hashlib
import json

import yaml

import textsiam
from tests.helpers.fixtures import write_word_pairs
from textsiam.models import create_model


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n"), text[:80]
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_a_training_run_leaves_a_card_that_says_what_the_run_knows(tmp_path, tiny_bert_dir):
    data = write_word_pairs(tmp_path / "pairs.tsv")
    out = tmp_path / "run"
    textsiam.fit(
        data,
        out,
        model=tiny_bert_dir,
        epochs=2,
        lr=1e-4,
        dev_fraction=0.25,
        threshold_strategy="youden",
        calibrate="platt",
        show_progress=False,
    )
    card = (out / "README.md").read_text()
    meta = _front_matter(card)
    assert meta["library_name"] == "textsiam" and meta["pipeline_tag"] == "sentence-similarity"
    assert "base_model" not in meta  # a local folder is no hub id
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert f"| train | pairs.tsv | 30 | {digest} |" in card and f"| dev | pairs.tsv | 10 | {digest} |" in card
    weights = hashlib.sha256((tiny_bert_dir / "model.safetensors").read_bytes()).hexdigest()
    assert weights in card  # the base weights' sha256
    epochs = [line for line in card.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert len(epochs) == 2  # one row per epoch of train_log.jsonl
    decision = json.loads((out / "decision.json").read_text())
    assert f"**{decision['threshold']:.6g}**" in card and "`platt`" in card
    assert "lr: 0.0001" in card and "epochs: 2" in card  # the recipe, as train_config.yaml holds it
    assert "textsiam.load(" in card and "--format onnx" in card


def test_a_model_saved_outside_a_run_gets_a_card_too_and_minilm_names_its_licence(tmp_path):
    from tests.helpers.fixtures import has_minilm

    if not has_minilm():
        import pytest

        pytest.skip("the packaged MiniLM weights are not installed (the 'pretrained' extra)")
    model = create_model("minilm-twin")
    model.save(tmp_path / "m")
    meta = _front_matter((tmp_path / "m" / "README.md").read_text())
    assert meta["license"] == "apache-2.0" and meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert "Not recorded (the model was not saved by a training run)" in (tmp_path / "m" / "README.md").read_text()


def test_a_run_without_a_dev_set_gets_a_three_column_epoch_table_and_says_why():
    from textsiam.models.card import _epochs

    section = _epochs([{"type": "epoch", "epoch": 1, "step": 88, "train_loss": 0.0636}])
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table == ["| epoch | step | train loss |", "| --- | --- | --- |", "| 1 | 88 | 0.0636 |"]
    assert "No dev set was given" in section
    with_dev = _epochs(
        [
            {"type": "epoch", "epoch": 1, "step": 5, "train_loss": 1.0},
            {"type": "eval", "epoch": 1, "metrics": {"spearman": 0.5}},
        ]
    )
    assert "| 1 | 5 | 1.0000 | 0.5000 |" in with_dev and "No dev set" not in with_dev
