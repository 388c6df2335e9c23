"""FNC-1 reader: stances joined with bodies by Body ID, related/unrelated labels, stance classes, body-wise split."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.helpers.title_body import write_fnc_files
from textsiam.api import load_data
from textsiam.data import detect_format, read_pairs
from textsiam.data.fnc1 import OFFICIAL_SPLIT_SEED
from textsiam.errors import DataError

BODIES = [("7", 'Line one, with a comma\nand a "quoted" second line.'), ("3", "Another body.")]
STANCES = [
    ("Headline A", "7", "agree"),
    ("Headline, with comma", "3", "unrelated"),
    ("Headline\nspanning two lines", "7", "discuss"),
    ("Headline D", "3", "disagree"),
]


def write_fnc(folder, prefix="train", stances=STANCES, bodies=BODIES):
    return write_fnc_files(folder, prefix, stances, bodies)


def test_reader_joins_bodies_by_id_with_multiline_fields(tmp_path):
    path = write_fnc(tmp_path)
    assert detect_format(path) == "fnc1"
    data = read_pairs(path)
    assert data.a == [s[0] for s in STANCES]
    assert data.b == [BODIES[0][1], BODIES[1][1], BODIES[0][1], BODIES[1][1]]
    assert data.labels.tolist() == [1.0, 0.0, 1.0, 1.0]
    assert data.class_labels == ["agree", "unrelated", "discuss", "disagree"]


def test_bodies_file_can_be_given_explicitly(tmp_path):
    write_fnc(tmp_path, prefix="competition_test")
    (tmp_path / "competition_test_bodies.csv").rename(tmp_path / "elsewhere.csv")
    with pytest.raises(DataError, match="competition_test_bodies.csv does not exist; pass --bodies"):
        load_data(tmp_path / "competition_test_stances.csv")
    data = load_data(tmp_path / "competition_test_stances.csv", bodies=tmp_path / "elsewhere.csv")
    assert len(data) == 4


def test_dangling_body_id_and_bad_stance_name_the_row(tmp_path):
    path = write_fnc(tmp_path, stances=[("H", "7", "agree"), ("H2", "99", "agree")])
    with pytest.raises(DataError, match=r"train_stances.csv, row 3, column 'Body ID': Body ID '99' is not in"):
        read_pairs(path)
    path = write_fnc(tmp_path, stances=[("H", "7", "agrees")])
    with pytest.raises(DataError, match=r"row 2, column 'Stance': Stance 'agrees' is not one of"):
        read_pairs(path)


def test_split_by_body_keeps_every_body_on_one_side(tmp_path):
    rng = np.random.default_rng(0)
    bodies = [(str(i), f"body {i}") for i in range(40)]
    stances = [(f"h{j}", str(rng.integers(40)), rng.choice(["agree", "unrelated"])) for j in range(300)]
    data = read_pairs(write_fnc(tmp_path, stances=stances, bodies=bodies))
    rest, dev = data.split(0.2, seed=OFFICIAL_SPLIT_SEED)
    assert len(rest) + len(dev) == 300
    assert not set(rest.dataset["group"]) & set(dev.dataset["group"])
    assert len(set(dev.dataset["group"]) | set(rest.dataset["group"])) == len(set(data.dataset["group"]))
    again = data.split(0.2, seed=OFFICIAL_SPLIT_SEED)[1]
    assert again.dataset["group"] == dev.dataset["group"]  # seeded


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: a CSV read and a Python-random split, no torch
def test_official_hold_out_bodies(shared_data):
    """The split reproduces the FNC-1 baseline's generate_hold_out_split (seed 1489215, 80 % of bodies train)."""
    import random

    data = read_pairs(shared_data / "fnc1/train_stances.csv")
    assert len(data) == 49972 and int(data.labels.sum()) == 13427
    rest, dev = data.split(0.2, seed=OFFICIAL_SPLIT_SEED)
    with open(shared_data / "fnc1/train_bodies.csv", encoding="utf-8", newline="") as f:
        ids = [int(r["Body ID"]) for r in csv.DictReader(f)]
    r = random.Random()
    r.seed(1489215)
    r.shuffle(ids)
    hold_out = {str(i) for i in ids[int(0.8 * len(ids)) :]}
    assert set(dev.dataset["group"]) == hold_out and not hold_out & set(rest.dataset["group"])


def test_multiline_pairs_round_trip_through_jsonl(tmp_path):
    data = read_pairs(write_fnc(tmp_path))
    data.to_jsonl(tmp_path / "dev.jsonl")
    again = read_pairs(tmp_path / "dev.jsonl")
    assert (again.a, again.b, again.labels.tolist()) == (data.a, data.b, data.labels.tolist())
