"""PairData: selection, deterministic stratified splits, label scaling, fingerprints."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from textsiam.data import PairData
from textsiam.data.pairs import build_text_pairs
from textsiam.errors import ConfigError, DataError


def make_pairs(labels, **kwargs) -> PairData:
    n = len(labels)
    return build_text_pairs(
        [f"a{i}" for i in range(n)],
        [f"b{i}" for i in range(n)],
        list(labels),
        source="/x/pairs.tsv",
        sha256="abc",
        **kwargs,
    )


def test_columns_and_accessors():
    pairs = make_pairs([0, 1, 1])
    assert pairs.dataset.column_names == ["a", "b", "label"]
    assert pairs.dataset.features["label"] == datasets.Value("float32")
    assert pairs.a == ["a0", "a1", "a2"] and pairs.b == ["b0", "b1", "b2"]
    assert pairs.labels.tolist() == [0.0, 1.0, 1.0]
    assert len(pairs) == 3
    assert pairs.label_kind == "binary"


def test_select_keeps_metadata_and_order():
    pairs = make_pairs([0.0, 2.5, 5.0, 1.0], label_kind="graded", label_range=(0.0, 5.0))
    picked = pairs.select([2, 0])
    assert picked.a == ["a2", "a0"]
    assert picked.labels.tolist() == [5.0, 0.0]
    assert (picked.source, picked.sha256, picked.label_kind, picked.label_range) == (
        "/x/pairs.tsv",
        "abc",
        "graded",
        (0.0, 5.0),
    )
    with pytest.raises(IndexError, match="indices must be in"):
        pairs.select([4])


def test_scaled_labels_use_label_range():
    pairs = make_pairs([0.0, 2.5, 5.0], label_kind="graded", label_range=(0.0, 5.0))
    np.testing.assert_allclose(pairs.scaled_labels(), [0.0, 0.5, 1.0], rtol=1e-7)  # x / 5: one float64 rounding


def test_split_is_stratified_disjoint_and_deterministic():
    labels = [1] * 70 + [0] * 30
    pairs = make_pairs(labels)
    rest, held = pairs.split(0.2, seed=3)
    assert len(rest) + len(held) == 100
    assert set(rest.a).isdisjoint(held.a)
    assert held.labels.sum() == 14 and len(held) == 20  # 20 % of each class
    again_rest, again_held = pairs.split(0.2, seed=3)
    assert again_held.a == held.a and again_rest.a == rest.a
    assert pairs.split(0.2, seed=4)[1].a != held.a


def test_split_graded_and_bad_fraction():
    pairs = make_pairs(np.linspace(0, 5, 40).tolist())
    rest, held = pairs.split(0.25)
    assert (len(rest), len(held)) == (30, 10)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ConfigError, match="between 0 and 1"):
            pairs.split(bad)
    with pytest.raises(ConfigError, match="empty part"):
        make_pairs([1, 0]).split(0.1)


def test_fingerprint_names_file_rows_and_hash():
    assert make_pairs([0, 1]).fingerprint() == {"file": "pairs.tsv", "rows": 2, "sha256": "abc"}
    _, held = make_pairs([0, 1] * 5).split(0.2)
    assert held.fingerprint() == {"file": "pairs.tsv", "rows": 2, "sha256": "abc", "subset_of_rows": 10}


def test_scaled_labels_refuse_labels_outside_the_range():
    pairs = make_pairs([0.0, 2.5], label_kind="graded", label_range=(0.0, 1.0))  # built by hand, not by a reader
    with pytest.raises(DataError, match=r"pairs\.tsv: label 2\.5 of pair 2 lies outside label_range 0\.\.1"):
        pairs.scaled_labels()


def test_unlabelled_pairs_raise_on_labels():
    pairs = build_text_pairs(["x"], ["y"], None, source="/x/u.tsv", sha256="h")
    assert pairs.label_kind == "none" and "label" not in pairs.dataset.column_names
    with pytest.raises(DataError, match="no labels"):
        _ = pairs.labels
    rest, held = build_text_pairs(list("abcd"), list("efgh"), None, source="u", sha256="h").split(0.5)
    assert len(rest) == len(held) == 2


def test_bad_metadata_rejected():
    dataset = datasets.Dataset.from_dict({"a": ["x"], "b": ["y"], "label": [1.0]})
    with pytest.raises(ConfigError, match="label_kind"):
        PairData(dataset, label_kind="ordinal")
    with pytest.raises(ConfigError, match="high > low"):
        PairData(dataset, label_range=(1.0, 1.0))
    with pytest.raises(ConfigError, match="columns"):
        PairData(datasets.Dataset.from_dict({"a": ["x"], "label": [1.0]}))


def test_to_tsv_round_trips_text_pairs(tmp_path):
    from textsiam.data import read_pairs

    src = tmp_path / "pairs.tsv"
    src.write_text('text_a\ttext_b\tlabel\nHe said "hi\tShe said hi\t1\nA dog\tA cat\t0\nx y\tx  y\t1\n')
    data = read_pairs(src)
    data.to_tsv(tmp_path / "copy.tsv")
    again = read_pairs(tmp_path / "copy.tsv")
    assert again.a == data.a and again.b == data.b and list(again.labels) == list(data.labels)
