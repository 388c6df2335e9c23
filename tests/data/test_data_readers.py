"""Generic readers (csv, tsv, jsonl, parquet), format detection and the errors for bad files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import textsiam.data.reader as reader_module
from textsiam.data import ReadOptions, detect_format, file_formats, read_pairs
from textsiam.errors import ConfigError, DataError
from textsiam.registry import DATASETS, READERS, Registry

REPO = Path(__file__).parents[2]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_all_readers_registered_with_descriptions():
    for name in ("stsb", "mrpc", "csv", "tsv", "jsonl", "parquet"):
        assert name in READERS
        assert READERS.describe()[name]
    assert "digits" in DATASETS and DATASETS.describe()["digits"]


def test_demo_file_reads():
    pairs = read_pairs(REPO / "textsiam" / "cli" / "demo_pairs.tsv")
    assert len(pairs) >= 10 and pairs.label_kind == "binary"
    assert 0 < pairs.labels.mean() < 1
    assert all(a.strip() and b.strip() for a, b in zip(pairs.a, pairs.b, strict=True))


def test_tsv_defaults_quotes_and_sha(tmp_path):
    path = write(tmp_path, "p.tsv", 'text_a\ttext_b\tlabel\nHe said "hi\tshe said hi\t1\n\nx\ty\t0\n')
    pairs = read_pairs(path)
    assert pairs.a == ['He said "hi', "x"] and pairs.b == ["she said hi", "y"]
    assert pairs.labels.tolist() == [1.0, 0.0]
    assert pairs.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pairs.fingerprint() == {"file": "p.tsv", "rows": 2, "sha256": pairs.sha256}


def test_csv_quoting_multiline_and_graded(tmp_path):
    text = 'sentence1,sentence2,score,extra\n"a, b","say ""yes""",4.5,q\r\n"line\none",two,0,r\n'
    pairs = read_pairs(write(tmp_path, "p.csv", text))
    assert pairs.a == ["a, b", "line\none"] and pairs.b == ['say "yes"', "two"]
    assert pairs.label_kind == "graded" and pairs.label_range == (0.0, 4.5)


def test_explicit_columns_and_label_range(tmp_path):
    path = write(tmp_path, "p.csv", "q1,q2,sim\nx,y,2\nz,w,3\n")
    pairs = read_pairs(path, text_a="q2", text_b="q1", label="sim", label_range=(0, 5))
    assert pairs.a == ["y", "w"] and pairs.label_range == (0.0, 5.0)
    assert pairs.scaled_labels().tolist() == pytest.approx([0.4, 0.6], rel=1e-6)  # float32 labels / 5: ~1e-7 off


def test_unlabelled_file(tmp_path):
    pairs = read_pairs(write(tmp_path, "p.csv", "text_a,text_b\nx,y\n"))
    assert pairs.label_kind == "none" and pairs.a == ["x"]


def test_limit(tmp_path):
    path = write(
        tmp_path, "p.jsonl", "".join(json.dumps({"a": f"x{i}", "b": "y", "label": i % 2}) + "\n" for i in range(9))
    )
    assert read_pairs(path, limit=3).a == ["x0", "x1", "x2"]
    with pytest.raises(ConfigError, match="limit"):
        read_pairs(path, limit=0)


def test_jsonl(tmp_path):
    lines = [{"text_a": "x", "text_b": "y", "label": True}, {"text_a": "z", "text_b": "w", "label": 0}]
    pairs = read_pairs(write(tmp_path, "p.jsonl", "\n".join(json.dumps(r) for r in lines)))
    assert pairs.labels.tolist() == [1.0, 0.0] and pairs.label_kind == "binary"


def test_parquet(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"text_a": ["x", "z"], "text_b": ["y", "w"], "label": [0.25, 1.0]}), path)
    pairs = read_pairs(path)
    assert pairs.a == ["x", "z"] and pairs.labels.tolist() == [0.25, 1.0] and pairs.label_kind == "graded"
    pq.write_table(pa.table({"text_a": ["x", None], "text_b": ["y", "w"]}), path)
    with pytest.raises(DataError, match=r"p\.parquet, row 2, column 'text_a': expected text"):
        read_pairs(path)


def test_format_detection_and_override(tmp_path):
    path = write(tmp_path, "pairs.txt", "text_a\ttext_b\tlabel\nx\ty\t1\n")
    with pytest.raises(
        ConfigError,
        match=r"format=.*--format.*coco, csv, flickr8k, fnc1, image-csv, image-tsv, jsonl, mnist, mrpc, parquet, "
        r"stsb, tsv",
    ):
        read_pairs(path)
    assert read_pairs(path, format="tsv").a == ["x"]
    with pytest.raises(ConfigError, match="unknown format 'tab'"):
        read_pairs(path, format="tab")
    with pytest.raises(ConfigError, match=r"'digits' is a built-in dataset.*digits:train"):
        read_pairs(path, format="digits")


def test_detection_comes_from_reader_patterns():
    assert detect_format("a/sts-dev.csv") == "stsb"  # sts-*.csv is more specific than *.csv
    assert detect_format("other.CSV") == "csv"
    assert detect_format("x.ndjson") == "jsonl"
    assert detect_format("msr_paraphrase_test.txt") == "mrpc"
    for fmt in file_formats():
        assert READERS.meta(fmt)["patterns"], fmt
        assert set(READERS.meta(fmt)["options"]) <= set(ReadOptions().__dataclass_fields__)


def test_a_new_folder_format_is_one_registration(tmp_path, monkeypatch):
    """The contract a future reader (MNIST folders, COCO, FNC-1) relies on: path + options in, split honoured."""
    read_tsv = READERS.get("tsv")
    registry = Registry("readers", "reader")
    monkeypatch.setattr(reader_module, "READERS", registry)
    seen = []

    @registry.register("toy-folder", patterns=("toy-*",), options=("limit", "split"))
    def read_toy(path: Path, options: ReadOptions):
        """A toy folder format."""
        seen.append((path, options))
        return read_tsv(path / f"{options.split}.tsv", ReadOptions(limit=options.limit))

    @registry.register("toy-twin", patterns=("toy-*",), options=())
    def read_twin(path: Path, options: ReadOptions):
        """Matches the same names."""

    folder = tmp_path / "toy-set"
    folder.mkdir()
    write(folder, "test.tsv", "text_a\ttext_b\tlabel\nx\ty\t1\n")
    assert read_pairs(folder, "toy-folder", split="test").a == ["x"]
    assert seen == [(folder, ReadOptions(split="test"))]
    with pytest.raises(ConfigError, match=r"format 'toy-folder' does not take \['text_a'\]"):
        read_pairs(folder, "toy-folder", text_a="q")
    with pytest.raises(ConfigError, match=r"fits the formats \['toy-folder', 'toy-twin'\] equally well"):
        read_pairs(folder)
    with pytest.raises(ConfigError, match=r"one of toy-folder, toy-twin"):
        read_pairs(tmp_path / "toy-set" / "test.tsv")


def test_fixed_formats_refuse_column_mapping(tmp_path):
    path = write(tmp_path, "sts-mine.csv", "g\tf\ty\t1\t2.0\ta\tb\n")
    assert read_pairs(path).label_range == (0.0, 5.0)  # detected as stsb
    for option in ({"text_a": "a"}, {"label_range": (0, 1)}, {"split": "train"}):
        with pytest.raises(ConfigError, match=rf"format 'stsb' does not take \['{next(iter(option))}'\] \(it takes"):
            read_pairs(path, **option)


# ---- errors: every message names the file, the row and the column, and says how to fix it ----


def test_file_not_found_and_folder(tmp_path):
    with pytest.raises(DataError, match=r"nope\.tsv: file not found; check the path"):
        read_pairs(tmp_path / "nope.tsv")
    folder = tmp_path / "d.tsv"
    folder.mkdir()
    with pytest.raises(DataError, match="not a file"):
        read_pairs(folder)


@pytest.mark.parametrize("content", ["", "\ufeff\r\n", "\n\n"])
def test_empty_file(tmp_path, content):
    with pytest.raises(DataError, match=r"e\.tsv: file is empty"):
        read_pairs(write(tmp_path, "e.tsv", content))


def test_header_without_rows(tmp_path):
    with pytest.raises(DataError, match="no data rows"):
        read_pairs(write(tmp_path, "h.tsv", "text_a\ttext_b\tlabel\n"))


def test_missing_column_lists_available(tmp_path):
    path = write(tmp_path, "m.csv", "left,right,label\nx,y,1\n")
    with pytest.raises(DataError, match=r"m\.csv: no column found for text_a.*\['left', 'right', 'label'\].*--text-a"):
        read_pairs(path)
    with pytest.raises(DataError, match=r"column 'gold': has no column 'gold' for label.*'left'") as info:
        read_pairs(path, text_a="left", text_b="right", label="gold")
    assert info.value.column == "gold"


@pytest.mark.parametrize(
    ("value", "match"), [("abc", "'abc' is not a number"), ("nan", "'nan' is not a finite"), ("", "is missing")]
)
def test_bad_label(tmp_path, value, match):
    path = write(tmp_path, "l.tsv", f"text_a\ttext_b\tlabel\nx\ty\t1\nx\ty\t{value}\n")
    with pytest.raises(DataError, match=rf"l\.tsv, row 3, column 'label': label {match}") as info:
        read_pairs(path)
    assert (info.value.row, info.value.column) == (3, "label")


def test_empty_text(tmp_path):
    path = write(tmp_path, "t.csv", "text_a,text_b,label\nx,y,1\n\nx,  ,0\n")
    with pytest.raises(DataError, match=r"t\.csv, row 4, column 'text_b': text is empty; fill in"):
        read_pairs(path)


def test_wrong_field_count(tmp_path):
    path = write(tmp_path, "f.tsv", "text_a\ttext_b\tlabel\nx\ty\t1\nx\ty\t0\textra\n")
    with pytest.raises(DataError, match=r"f\.tsv, row 3: expected 3 fields .* got 4; remove stray tabs"):
        read_pairs(path)


def test_csv_unbalanced_quote_reports_start_row(tmp_path):
    path = write(tmp_path, "q.csv", 'text_a,text_b,label\nx,y,1\n"oops,y,1\nz,w,0\n')
    with pytest.raises(DataError, match=r"q\.csv, row 3: expected 3 fields .* double quotes"):
        read_pairs(path)


def test_jsonl_errors(tmp_path):
    with pytest.raises(DataError, match=r"j\.jsonl, row 2: is not valid JSON"):
        read_pairs(write(tmp_path, "j.jsonl", '{"a": "x", "b": "y"}\n{"a": \n'))
    with pytest.raises(DataError, match=r"row 2, column 'b': row has no 'b' field"):
        read_pairs(write(tmp_path, "k.jsonl", '{"a": "x", "b": "y"}\n{"a": "z"}\n'))
    with pytest.raises(DataError, match=r"row 1: expected a JSON object"):
        read_pairs(write(tmp_path, "l.jsonl", "[1, 2]\n"))


def test_not_utf8_names_row(tmp_path):
    path = tmp_path / "u.tsv"
    path.write_bytes(b"text_a\ttext_b\nx\ty\ncaf\xe9\tz\n")
    with pytest.raises(DataError, match=r"u\.tsv, row 3: is not valid UTF-8.*re-save"):
        read_pairs(path)


def test_duplicate_header(tmp_path):
    with pytest.raises(DataError, match=r"row 1: header repeats column names \['a'\]"):
        read_pairs(write(tmp_path, "d.tsv", "a\ta\tb\nx\ty\tz\n"))
