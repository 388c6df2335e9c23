"""The files of data/samples/ (written for this project; data/README.md lists them) read through their detected
format with the rows and the label kind that data/README.md promises, and stay small."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from textsiam.data import detect_format, read_pairs
from textsiam.data.texts import read_texts

SAMPLES = Path(__file__).parents[2] / "data" / "samples"

# file -> (detected format, rows, label kind, label range)
PAIR_FILES = {
    "sts_pairs.tsv": ("tsv", 60, "graded", (0.0, 5.0)),
    "paraphrase.csv": ("csv", 60, "binary", (0.0, 1.0)),
    "pairs.jsonl": ("jsonl", 20, "binary", (0.0, 1.0)),
    "fnc1/sample_stances.csv": ("fnc1", 40, "binary", (0.0, 1.0)),
    "captions.images.csv": ("image-csv", 24, "binary", (0.0, 1.0)),
}


@pytest.mark.parametrize("name", sorted(PAIR_FILES))
def test_each_sample_reads_through_its_detected_format(name):
    fmt, rows, kind, scale = PAIR_FILES[name]
    assert detect_format(SAMPLES / name) == fmt
    data = read_pairs(SAMPLES / name)
    assert len(data) == rows
    assert data.label_kind == kind and tuple(data.label_range) == scale
    if kind == "binary":
        assert 0.3 <= float(np.mean(data.labels)) <= 0.7, "a binary sample should be roughly balanced"
    assert len(set(zip(data.a, data.b))) == rows, "no pair is repeated"


def test_sts_sample_spreads_over_the_whole_scale():
    scores = read_pairs(SAMPLES / "sts_pairs.tsv").labels
    counts = np.histogram(scores, bins=[0, 1, 2, 3, 4, 5.01])[0]
    assert (counts >= 6).all(), f"each band of the 0..5 scale needs pairs, got {counts.tolist()}"


def test_fnc1_sample_has_every_stance_and_each_body_on_both_sides():
    data = read_pairs(SAMPLES / "fnc1" / "sample_stances.csv")
    classes = list(data.dataset["class"])
    assert set(classes) == {"agree", "disagree", "discuss", "unrelated"}
    groups = np.asarray(data.dataset["group"])
    labels = np.asarray(data.labels)
    assert len(set(groups)) == 8
    assert all(set(labels[groups == g]) == {0.0, 1.0} for g in set(groups)), "each body: related and unrelated"


def test_caption_table_gives_each_image_its_own_caption_and_a_wrong_one():
    data = read_pairs(SAMPLES / "captions.images.csv")
    images = list(data.a)
    assert len(set(images)) == 12 and all(Path(p).is_file() for p in images)
    positives = {a: b for a, b, y in zip(images, data.b, data.labels) if y == 1}
    assert len(positives) == 12 and len(set(positives.values())) == 12


def test_text_files_read_as_texts():
    texts, _ = read_texts(SAMPLES / "texts.txt")
    queries, _ = read_texts(SAMPLES / "queries.txt")
    assert len(texts) == 30 and len(set(texts)) == 30
    assert len(queries) == 5 and not set(queries) & set(texts)
    body = (SAMPLES / "body.txt").read_text(encoding="utf-8")
    assert len(body.split()) > 40 and body.count("\n") == 1


def test_samples_are_small_and_every_file_is_in_the_readme():
    files = [p for p in SAMPLES.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 300_000
    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    listed = [p for p in files if p.parent.name != "images"]
    missing = [str(p.relative_to(SAMPLES)) for p in listed if str(p.relative_to(SAMPLES)) not in readme]
    assert not missing, f"data/README.md does not list {missing}"
