"""scripts/bench_fnc1.py: the split files written for the CLI read back as the same pairs; the stated pair sample."""

from __future__ import annotations

import pytest

from tests.helpers.fixtures import load_script
from tests.helpers.title_body import write_corpus
from textsiam.data import read_pairs


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_fnc1")


def test_written_splits_read_back_as_the_same_pairs_and_carve_the_same_val(bench, tmp_path):
    data = read_pairs(write_corpus(tmp_path, "train", n_bodies=40, n_stances=300, seed=0))
    parts = bench.split(data)
    out = tmp_path / "splits"
    out.mkdir()
    for prefix, key in (("trainall", "train_all"), ("dev", "dev")):
        back = read_pairs(bench.write_fnc_split(parts[key], out, prefix))
        assert (back.a, back.b, back.class_labels) == (parts[key].a, parts[key].b, parts[key].class_labels)
        assert back.dataset["group"] == parts[key].dataset["group"]
    _, val = read_pairs(out / "trainall_stances.csv").split(0.1, seed=0)  # what `train --dev-fraction 0.1` carves
    assert (val.a, val.b) == (parts["val"].a, parts["val"].b)
    assert not set(parts["dev"].dataset["group"]) & set(parts["train_all"].dataset["group"])


def test_subsample_is_seeded_and_keeps_file_order(bench, tmp_path):
    data = read_pairs(write_corpus(tmp_path, "train", n_bodies=10, n_stances=100, seed=1))
    one, two = bench.subsample(data, 30), bench.subsample(data, 30)
    assert len(one) == 30 and one.a == two.a and one.b == two.b
    rows = list(zip(data.a, data.b, data.class_labels))
    picked = [rows.index(r) for r in zip(one.a, one.b, one.class_labels)]
    assert picked == sorted(picked)
    assert bench.subsample(data, None) is data and bench.subsample(data, 1000) is data
