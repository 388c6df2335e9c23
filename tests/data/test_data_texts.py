from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textsiam.data.texts import count_texts, iter_text_chunks, read_texts
from textsiam.errors import ConfigError, DataError

TEXTS = ["a man plays", 'she said "hi", then left', "two, three", "the end"]


def _write(tmp_path, fmt: str):
    path = tmp_path / f"texts.{fmt}"
    if fmt == "txt":
        path.write_text("\n".join(TEXTS) + "\n")
    elif fmt == "csv":
        quoted = ['"' + t.replace('"', '""') + '"' for t in TEXTS]
        path.write_text("id,text\n" + "".join(f"k{i},{q}\n" for i, q in enumerate(quoted)))
    elif fmt == "tsv":
        path.write_text("id\ttext\n" + "".join(f"k{i}\t{t}\n" for i, t in enumerate(TEXTS)))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"id": f"k{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    else:
        pq.write_table(pa.table({"id": [f"k{i}" for i in range(4)], "text": TEXTS}), path)
    return path


@pytest.mark.parametrize("fmt", ["txt", "csv", "tsv", "jsonl", "parquet"])
def test_every_format_streams_the_texts_in_order(tmp_path, fmt):
    path = _write(tmp_path, fmt)
    chunks = list(iter_text_chunks(path, chunk_size=3))
    assert [len(t) for t, _ in chunks] == [3, 1]
    assert read_texts(path) == (TEXTS, [0, 1, 2, 3])
    assert count_texts(path) == 4
    if fmt != "txt":
        assert read_texts(path, id_column="id")[1] == ["k0", "k1", "k2", "k3"]


def test_a_shard_is_a_contiguous_row_range(tmp_path):
    path = _write(tmp_path, "csv")
    assert read_texts(path, start=1, stop=3) == (TEXTS[1:3], [1, 2])


def test_column_must_be_named_when_ambiguous(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\nx,y\n")
    with pytest.raises(DataError, match="--column"):
        read_texts(path)
    assert read_texts(path, column="b")[0] == ["y"]
    with pytest.raises(DataError, match="no column 'c'"):
        read_texts(path, column="c")


def test_empty_line_names_its_row_and_lines_have_no_columns(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("one\n\nthree\n")
    with pytest.raises(DataError, match="row 1"):
        read_texts(path)
    with pytest.raises(ConfigError, match="no columns"):
        read_texts(path, column="text")


@pytest.mark.parametrize("fmt", ["txt", "csv", "tsv", "jsonl"])
def test_a_latin1_file_is_a_data_error_naming_the_line_and_byte(tmp_path, fmt):
    path = _write(tmp_path, fmt)
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, "caf\xe9 au lait\n".encode("latin-1") if fmt != "jsonl" else b'{"id": "x", "text": "caf\xe9"}\n')
    path.write_bytes(b"".join(lines))
    for read in (lambda: read_texts(path), lambda: count_texts(path)):  # before: UnicodeDecodeError
        with pytest.raises(DataError, match=rf"{path.name}: line 3 is not valid UTF-8 \(byte 0xe9 .*re-save"):
            read()
