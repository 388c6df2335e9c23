"""Triplet files (anchor/positive/negative, query/positive/negative_1..k) through the generic readers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from textsiam.data import read_pairs
from textsiam.errors import DataError


def test_anchor_positive_negative_tsv(tmp_path):
    path = tmp_path / "triplets.tsv"
    path.write_text("anchor\tpositive\tnegative\na cat\ta kitten\ta car\na dog\ta puppy\ta log\n", encoding="utf-8")
    data = read_pairs(path)
    assert data.a == ["a cat", "a dog"] and data.b == ["a kitten", "a puppy"]
    assert data.labels.tolist() == [1.0, 1.0] and data.label_kind == "binary"
    assert data.negatives == [["a car"], ["a log"]]
    pairs = data.negatives_as_pairs()
    assert pairs.a == ["a cat", "a dog", "a cat", "a dog"]
    assert pairs.b == ["a kitten", "a puppy", "a car", "a log"]
    assert pairs.labels.tolist() == [1.0, 1.0, 0.0, 0.0] and pairs.negatives is None


def test_query_positive_numbered_negatives_jsonl_in_number_order(tmp_path):
    path = tmp_path / "mined.jsonl"
    rows = [{"query": "q1", "positive": "p1", "negative_10": "n10", "negative_2": "n2", "negative_1": "n1"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data = read_pairs(path)
    assert data.negatives == [["n1", "n2", "n10"]]
    assert data.negatives_as_pairs().b == ["p1", "n1", "n2", "n10"]


def test_triplets_with_a_graded_label_keep_it_and_negatives_get_the_low_end(tmp_path):
    path = tmp_path / "graded.csv"
    path.write_text("anchor,positive,negative,score\nx,y,z,4\nu,v,w,5\n", encoding="utf-8")
    data = read_pairs(path, label_range=(0, 5))
    assert data.negatives == [["z"], ["w"]]
    assert data.negatives_as_pairs().labels.tolist() == [4.0, 5.0, 0.0, 0.0]


def test_parquet_triplets(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"anchor": ["a"], "positive": ["b"], "negative_1": ["c"], "negative_2": ["d"]}).to_parquet(path)
    assert read_pairs(path).negatives == [["c", "d"]]


def test_plain_pairs_have_no_negatives(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("text_a\ttext_b\tlabel\nx\ty\t1\n", encoding="utf-8")
    data = read_pairs(path)
    assert data.negatives is None and data.negatives_as_pairs() is data


def test_an_empty_negative_names_file_row_and_column(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("query\tpositive\tnegative_1\tnegative_2\nq\tp\tn\tm\nq2\tp2\tn2\t \n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.tsv.*row 3.*negative_2") as err:
        read_pairs(path)
    assert "empty" in str(err.value)
