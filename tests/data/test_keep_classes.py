"""keep_classes: the pairs of some classes only (a stance model of the related FNC-1 pairs), for every reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from textsiam.data import read_pairs
from textsiam.errors import ConfigError, DataError

SAMPLE = Path(__file__).resolve().parents[2] / "data/samples/fnc1/sample_stances.csv"


def test_keeps_the_pairs_of_the_given_classes_in_their_order():
    everything = read_pairs(SAMPLE)
    kept = read_pairs(SAMPLE, keep_classes=["agree", "discuss"])
    expected = [(a, c) for a, c in zip(everything.a, everything.class_labels) if c in ("agree", "discuss")]
    assert list(zip(kept.a, kept.class_labels)) == expected
    assert 0 < len(kept) < len(everything)


def test_a_class_no_pair_has_is_an_error_that_lists_the_classes():
    with pytest.raises(DataError, match=r"no pair has class \['agre'\]; the classes here are \['agree', 'disagree'"):
        read_pairs(SAMPLE, keep_classes=["discuss", "agre"])


def test_pairs_without_classes_are_an_error(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("text_a,text_b,label\na,b,1\nc,d,0\n")
    with pytest.raises(DataError, match=r"pairs.csv: keep_classes needs pairs with class labels"):
        read_pairs(path, keep_classes=["x"])


@pytest.mark.parametrize("bad", ["agree", [], ["agree", ""], [3]])
def test_bad_values_are_config_errors(bad):
    with pytest.raises(ConfigError, match="keep_classes must be a list of class names"):
        read_pairs(SAMPLE, keep_classes=bad)
