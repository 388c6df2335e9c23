"""The binary-or-graded rule (textsiam.data.labels) and the bad labels it turns into errors naming the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from textsiam.data import read_pairs
from textsiam.data.labels import label_scale
from textsiam.errors import ConfigError, DataError


def scale(labels, **kw):
    return label_scale(labels, range(2, len(labels) + 2), path="f.tsv", column="label", **kw)


def write_tsv(tmp_path: Path, labels, name: str = "l.tsv") -> Path:
    path = tmp_path / name
    path.write_text("text_a\ttext_b\tlabel\n" + "".join(f"x{i}\ty\t{v}\n" for i, v in enumerate(labels)))
    return path


def test_rule_binary_graded_and_declared():
    assert scale([0.0, 1.0, 1.0]) == ("binary", (0.0, 1.0))
    assert scale([1.0, 1.0]) == ("binary", (0.0, 1.0))  # one class is still binary
    assert scale([0.0, 0.5]) == ("graded", (0.0, 1.0))
    assert scale([0.5, 3.5]) == ("graded", (0.0, 3.5))  # widened to include 0
    assert scale([-0.5, 1.0]) == ("graded", (-0.5, 1.0))
    assert scale([0.3, 0.3]) == ("graded", (0.0, 1.0))  # never degenerate
    assert scale([0.0, 1.0], label_range=(0.0, 5.0)) == ("graded", (0.0, 5.0))  # declared wins
    assert scale([2.0, 3.0], label_range=(1.0, 5.0)) == ("graded", (1.0, 5.0))


def test_label_7_among_binary_labels_names_the_row(tmp_path):
    path = write_tsv(tmp_path, [0, 1, 1, 7, 0])
    with pytest.raises(DataError, match=r"l\.tsv, row 5, column 'label': label 7 is neither 0 nor 1.*label_range="):
        read_pairs(path)


def test_label_minus_1_in_binary_file_names_the_row(tmp_path):
    path = write_tsv(tmp_path, [1, 0, -1, 1])
    with pytest.raises(DataError, match=r"row 4, column 'label': label -1 is neither 0 nor 1") as info:
        read_pairs(path)
    assert (info.value.row, info.value.column) == (4, "label")


def test_all_labels_2_is_an_error_not_a_nan_spearman(tmp_path):
    path = write_tsv(tmp_path, [2, 2, 2])
    with pytest.raises(DataError, match=r"row 2, column 'label': label 2 is neither 0 nor 1.*--label-range"):
        read_pairs(path)


def test_integer_ratings_read_with_their_range(tmp_path):
    path = write_tsv(tmp_path, [1, 5, 3])
    with pytest.raises(DataError, match="1..5 ratings"):
        read_pairs(path)
    pairs = read_pairs(path, label_range=(1, 5))
    assert (pairs.label_kind, pairs.label_range) == ("graded", (1.0, 5.0))
    assert pairs.scaled_labels().tolist() == [0.0, 1.0, 0.5]


def test_label_range_never_clips(tmp_path):
    path = write_tsv(tmp_path, [0, 1, 2, 1])
    with pytest.raises(DataError, match=r"row 4, column 'label': label 2 is outside the label range 0\.\.1; fix"):
        read_pairs(path, label_range=(0, 1))
    with pytest.raises(DataError, match=r"row 2, column 'label': label -0\.5 is outside the label range 0\.\.5"):
        read_pairs(write_tsv(tmp_path, [-0.5, 1], "n.tsv"), label_range=(0, 5))


@pytest.mark.parametrize("bad", [(1, 1), (5, 0), ("a", "b"), (0,), (0, float("inf")), 3])
def test_bad_label_range_is_a_config_error(tmp_path, bad):
    with pytest.raises(ConfigError, match=r"label_range .* pass label_range=\(low, high\)"):
        read_pairs(write_tsv(tmp_path, [0, 1]), label_range=bad)


def test_known_formats_keep_their_scale(tmp_path):
    sts = tmp_path / "sts-x.csv"
    sts.write_text("g\tf\ty\t1\t2.0\ta\tb\ng\tf\ty\t2\t5.5\tc\td\n")
    with pytest.raises(
        DataError, match=r"row 2, column 'score': label 5\.5 is outside the STS range 0\.\.5; fix the row$"
    ):
        read_pairs(sts)
    mrpc = tmp_path / "msr_paraphrase_x.txt"
    mrpc.write_text("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\tb\n2\t3\t4\tc\td\n")
    with pytest.raises(DataError, match=r"row 3, column 'Quality': label 2 must be 0 or 1"):
        read_pairs(mrpc)
