"""Bad inputs a new user met: each gives a clear error naming the file/row/column, or reads correctly."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textsiam.data import read_pairs
from textsiam.errors import ConfigError, DataError, TextsiamError

MB = 1 << 20


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("name", "body", "column"),
    [
        ("e.csv", "text_a,text_b,label\nx,y,1\n,y,0\n", "text_a"),
        ("e.tsv", "text_a\ttext_b\tlabel\nx\ty\t1\nx\t\t0\n", "text_b"),
        ("w.tsv", "text_a\ttext_b\tlabel\nx\ty\t1\n \t y\t0\n", "text_a"),
        ("w.jsonl", '{"text_a": "x", "text_b": "y"}\n\n{"text_a": "x", "text_b": "\\t\\n "}\n', "text_b"),
        ("sts-w.csv", "g\tf\ty\t1\t2.0\ta\tb\n\ng\tf\ty\t2\t1.0\t\u3000\tb\n", "sentence1"),
    ],
)
def test_empty_and_whitespace_only_text(tmp_path, name, body, column):
    with pytest.raises(DataError, match=rf"row 3, column '{column}': text is empty; fill in") as info:
        read_pairs(write(tmp_path, name, body))
    assert info.value.path.endswith(name)


def test_empty_and_whitespace_text_in_parquet(tmp_path):
    path = tmp_path / "w.parquet"
    pq.write_table(pa.table({"text_a": ["x", "  "], "text_b": ["y", "z"]}), path)
    with pytest.raises(DataError, match=r"w\.parquet, row 2, column 'text_a': text is empty"):
        read_pairs(path)


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("mac.tsv", ["text_a\ttext_b\tlabel", "x one\ty one\t1", "x two\ty two\t0"]),
        ("mac.csv", ["text_a,text_b,label", '"x one","y one",1', "x two,y two,0"]),
        (
            "mac.jsonl",
            [json.dumps({"text_a": f"x {n}", "text_b": f"y {n}", "label": i}) for i, n in enumerate(("one", "two"))],
        ),
        ("sts-mac.csv", ["g\tf\ty\t1\t1.0\tx one\ty one", "g\tf\ty\t2\t0.0\tx two\ty two"]),
        (
            "msr_paraphrase_mac.txt",
            ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", "1\t1\t2\tx one\ty one", "0\t3\t4\tx two\ty two"],
        ),
    ],
)
def test_cr_only_line_ends_read_like_lf(tmp_path, name, lines):
    mac = read_pairs(write(tmp_path, name, "\r".join(lines) + "\r"))
    lf_name = name.replace("mac", "lf")  # keeps sts-*.csv / msr_paraphrase_*.txt detectable
    lf = read_pairs(write(tmp_path, lf_name, "\n".join(lines) + "\n"))
    assert mac.a == lf.a and mac.b == lf.b and len(mac) == 2
    assert mac.a[0].startswith("x ") and not any("\r" in t for t in mac.a + mac.b)
    assert mac.labels.tolist() == lf.labels.tolist()


def test_cr_only_errors_count_rows(tmp_path):
    path = write(tmp_path, "mac.tsv", "text_a\ttext_b\tlabel\rx\ty\t1\rx\t \t0\r")
    with pytest.raises(DataError, match=r"mac\.tsv, row 3, column 'text_b': text is empty"):
        read_pairs(path)


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("big.tsv", "w" * MB),
        ("big.csv", "w" * MB),
        ("big.csv", "w," * (MB // 2)),
        ("big.jsonl", "w" * MB),
        ("big.jsonl", json.dumps(["w" * MB])),
        ("big.jsonl", json.dumps({"w" * MB: 1})),
        ("sts-big.csv", "w" * MB),
        ("msr_paraphrase_big.txt", "w" * MB),
        ("big.txt", "w" * MB),
    ],
)
def test_one_megabyte_line_is_not_echoed(tmp_path, name, line):
    with pytest.raises(TextsiamError) as info:
        read_pairs(write(tmp_path, name, line))
    message = str(info.value)
    assert len(message) < 600 + len(str(tmp_path)), message[:300]
    assert name in message


def test_huge_values_are_cut_in_messages(tmp_path):
    path = write(tmp_path, "v.tsv", f"text_a\ttext_b\tlabel\nx\ty\t{'9x' * MB}\n")
    with pytest.raises(DataError, match=r"row 2, column 'label': label '9x9x[9x]*… \(2097152 characters\) is not a nu"):
        read_pairs(path)
    with pytest.raises(DataError) as info:
        read_pairs(path, text_a="q" * MB)
    assert len(str(info.value)) < 600 + len(str(tmp_path))
    with pytest.raises(ConfigError) as cfg:
        read_pairs(path, format="f" * MB)
    assert len(str(cfg.value)) < 400
