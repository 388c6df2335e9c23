"""Reader fuzzing (hypothesis) over every registered reader: random bytes, wrong encodings, huge fields, NUL bytes,
mixed line ends. Each file either reads back exactly what was written or raises a DataError / ConfigError; any
other exception, a hang (a per-example alarm) or a parse that differs from the written rows fails.

Bounded: a fixed number of examples per property (derandomized, so CI sees the same files every run).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.fixtures import no_hang

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a test dependency (pip install '.[dev]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from textsiam.data import read_pairs  # noqa: E402
from textsiam.errors import ConfigError, DataError  # noqa: E402
from textsiam.registry import READERS  # noqa: E402

FUZZ = settings(
    max_examples=30,
    deadline=None,  # a shared 2-core machine makes per-example deadlines flaky; the alarm below catches hangs
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
HANG_SECONDS = 20
Rows = list[tuple[str, str, float]]


# -- writers: valid rows -> the bytes of a file in each format -----------------------------------------------------
def _lines(lines: list[str], ends: list[str]) -> str:
    return "".join(line + ends[i % len(ends)] for i, line in enumerate(lines))


def write_tsv(rows: Rows, ends: list[str]) -> bytes:
    return _lines(["text_a\ttext_b\tlabel"] + [f"{a}\t{b}\t{y:g}" for a, b, y in rows], ends).encode()


def write_csv(rows: Rows, ends: list[str]) -> bytes:
    out = io.StringIO(newline="")
    for i, fields in enumerate([["text_a", "text_b", "label"]] + [[a, b, f"{y:g}"] for a, b, y in rows]):
        # Python's writer quotes only the characters of its own line terminator: quote any line break ourselves
        quoting = csv.QUOTE_ALL if any("\r" in f or "\n" in f for f in fields) else csv.QUOTE_MINIMAL
        csv.writer(out, lineterminator=ends[i % len(ends)], quoting=quoting).writerow(fields)
    return out.getvalue().encode()


def write_jsonl(rows: Rows, ends: list[str]) -> bytes:
    lines = [
        json.dumps({"text_a": a, "text_b": b, "label": y}, ensure_ascii=i % 2 == 0) for i, (a, b, y) in enumerate(rows)
    ]
    return _lines(lines, ends).encode()


def write_parquet(rows: Rows, ends: list[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    a, b, y = zip(*rows)
    out = io.BytesIO()
    pq.write_table(pa.table({"text_a": list(a), "text_b": list(b), "label": list(y)}), out)
    return out.getvalue()


def write_stsb(rows: Rows, ends: list[str]) -> bytes:
    return _lines(
        [f"main-captions\tMSRvid\t2012test\t{i:04d}\t{y!r}\t{a}\t{b}" for i, (a, b, y) in enumerate(rows)], ends
    ).encode()


def write_mrpc(rows: Rows, ends: list[str]) -> bytes:
    head = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String"
    return _lines([head] + [f"{y:g}\t{i}\t{i + 1}\t{a}\t{b}" for i, (a, b, y) in enumerate(rows)], ends).encode()


# format -> (writer, file name, characters a text may not hold, labels it writes)
WRITERS: dict[str, tuple[Callable[[Rows, list[str]], bytes], str, str, str]] = {
    "tsv": (write_tsv, "pairs.tsv", "\t\n\r", "binary"),
    "csv": (write_csv, "pairs.csv", "", "binary"),
    "jsonl": (write_jsonl, "pairs.jsonl", "", "binary"),
    "parquet": (write_parquet, "pairs.parquet", "", "binary"),
    "stsb": (write_stsb, "sts-fuzz.csv", "\t\n\r", "graded"),
    "mrpc": (write_mrpc, "msr_paraphrase_fuzz.txt", "\t\n\r", "binary"),
}
FORMATS = READERS.names()
LINE_ENDS = st.lists(st.sampled_from(["\n", "\r\n"]), min_size=1, max_size=3)


def _is_folder_format(fmt: str) -> bool:
    """Formats read from a folder or with a companion file (fnc1's bodies): random bytes only, no writer."""
    return bool({"split", "bodies"} & set(READERS.meta(fmt).get("options", ())))


def _text(banned: str, max_size: int = 30) -> st.SearchStrategy[str]:
    chars = st.characters(blacklist_categories=("Cs",), blacklist_characters=banned)
    return st.text(chars, min_size=1, max_size=max_size).filter(lambda s: s.strip() != "")


def _rows(fmt: str, text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Rows]:
    _, _, banned, kind = WRITERS[fmt]
    label = (
        st.sampled_from([0.0, 1.0]) if kind == "binary" else st.floats(0, 5, allow_nan=False).map(lambda v: round(v, 3))
    )
    text = text if text is not None else _text(banned)
    row = st.tuples(text, text, label)
    return st.lists(row, min_size=2, max_size=12)


def _read(tmp_path: Path, fmt: str, name: str, raw: bytes):
    path = tmp_path / name
    path.write_bytes(raw)
    with no_hang(HANG_SECONDS, "the reader ran on one small file"):
        return read_pairs(path, format=fmt)


def _check_outcome(tmp_path: Path, fmt: str, rows: Rows, raw: bytes) -> None:
    """Exactly the written rows back, or a clean DataError / ConfigError: never anything else."""
    try:
        data = _read(tmp_path, fmt, WRITERS[fmt][1], raw)
    except (DataError, ConfigError) as err:
        assert str(err).strip(), "an error without a message"
        return
    assert list(data.a) == [r[0] for r in rows]
    assert list(data.b) == [r[1] for r in rows]
    assert [float(v) for v in data.labels] == pytest.approx([r[2] for r in rows], rel=1e-6)  # float32: 1 rounding


def _names_image_files(fmt: str) -> bool:
    """Tables whose rows name image files (they take skip_bad_rows): random bytes only, no text writer."""
    return "skip_bad_rows" in READERS.meta(fmt).get("options", ())


def test_every_file_reader_has_a_fuzz_writer():
    missing = [f for f in FORMATS if f not in WRITERS and not _is_folder_format(f) and not _names_image_files(f)]
    assert not missing, f"add a writer for readers {missing} to WRITERS in {__file__}"


FILE_FORMATS = [f for f in FORMATS if f in WRITERS]


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@FUZZ
@given(data=st.data(), ends=LINE_ENDS)
def test_valid_files_read_back_exactly(tmp_path, fmt, data, ends):
    rows = data.draw(_rows(fmt))
    data_read = _read(tmp_path, fmt, WRITERS[fmt][1], WRITERS[fmt][0](rows, ends))
    assert (list(data_read.a), list(data_read.b)) == ([r[0] for r in rows], [r[1] for r in rows])
    assert [float(v) for v in data_read.labels] == pytest.approx([r[2] for r in rows], rel=1e-6)  # float32 labels


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(raw=st.binary(max_size=2000))
def test_random_bytes_are_a_clean_error_or_a_parse(tmp_path, fmt, raw):
    target = tmp_path / ("folder" if _is_folder_format(fmt) else "random.bin")
    if _is_folder_format(fmt):
        target.mkdir(exist_ok=True)
        (target / "data.bin").write_bytes(raw)
    else:
        target.write_bytes(raw)
    try:
        with no_hang(HANG_SECONDS, "the reader ran on one small file"):
            data = read_pairs(target, format=fmt)
    except (DataError, ConfigError) as err:
        assert str(err).strip()
        return
    assert len(data.a) == len(data.b) == len(data.labels) > 0
    assert all(isinstance(t, str) and t.strip() for t in [*data.a, *data.b])


@pytest.mark.parametrize("fmt", [f for f in FILE_FORMATS if f != "parquet"])
@pytest.mark.parametrize("encoding", ["utf-16", "latin-1", "cp1252"])
@FUZZ
@given(data=st.data())
def test_other_encodings_are_a_data_error_naming_utf8(tmp_path, fmt, encoding, data):
    rows = data.draw(_rows(fmt, _text(WRITERS[fmt][2] + "\x00", 20).map(lambda s: f"café {s}")))
    text = WRITERS[fmt][0](rows, ["\n"]).decode("utf-8")
    with pytest.raises(DataError, match="UTF-8"):
        _read(tmp_path, fmt, WRITERS[fmt][1], text.encode(encoding, errors="replace"))


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@settings(FUZZ, max_examples=4)
@given(data=st.data(), size=st.integers(100_000, 400_000))
def test_huge_fields_read_back_exactly(tmp_path, fmt, data, size):
    rows = data.draw(_rows(fmt))
    rows[0] = ("x" * size, rows[0][1], rows[0][2])
    read = _read(tmp_path, fmt, WRITERS[fmt][1], WRITERS[fmt][0](rows, ["\n"]))  # a valid file: it must read
    assert list(read.a) == [r[0] for r in rows] and list(read.b) == [r[1] for r in rows]


@pytest.mark.parametrize("fmt", FILE_FORMATS)
@FUZZ
@given(data=st.data(), ends=LINE_ENDS)
def test_nul_bytes_in_texts_read_back_or_are_a_clean_error(tmp_path, fmt, data, ends):
    with_nul = _text(WRITERS[fmt][2], 10).map(lambda s: f"{s}\x00{s}")
    rows = data.draw(_rows(fmt, with_nul))
    _check_outcome(tmp_path, fmt, rows, WRITERS[fmt][0](rows, ends))


@pytest.mark.parametrize("fmt", [f for f in FILE_FORMATS if f != "parquet"])
@FUZZ
@given(data=st.data(), ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=2, max_size=5))
def test_mixed_line_ends_including_lone_cr_never_misread(tmp_path, fmt, data, ends):
    rows = data.draw(_rows(fmt))
    _check_outcome(tmp_path, fmt, rows, WRITERS[fmt][0](rows, ends))


# -- the two misreads the fuzzing found, pinned -------------------------------------------------------------------
def test_mrpc_header_glued_to_the_first_row_by_a_lone_cr_is_an_error_not_a_lost_row(tmp_path):
    raw = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r1\t1\t2\tA cat.\tA cat sits.\n0\t3\t4\tA dog.\tRain.\n"
    with pytest.raises(DataError, match="row 1: expected 5 tab-separated fields"):
        _read(tmp_path, "mrpc", "msr_paraphrase_x.txt", raw.encode())


def test_csv_field_over_the_csv_module_default_limit_reads(tmp_path):
    long = "word " * 40_000  # 200,000 characters: the csv module refuses over 131,072 by default
    data = _read(tmp_path, "csv", "long.csv", f'text_a,text_b,label\n"{long}",short,1\nx,y,0\n'.encode())
    assert data.a[0] == long and len(data) == 2
