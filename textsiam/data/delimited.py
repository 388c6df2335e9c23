"""Readers for generic delimited files with a header row: ``.csv`` (comma, RFC 4180 quoting) and ``.tsv``.

TSV follows the IANA text/tab-separated-values convention: fields never contain tabs or newlines and ``"`` is an
ordinary character (no quoting), which is what sentence data with unbalanced quotes needs. CSV fields that contain
commas, quotes or newlines must be quoted (``"..."`` with ``""`` for a quote), as spreadsheet programs and pandas
write them. LF, CRLF and CR-only (classic Mac OS) line ends are all read.
"""

from __future__ import annotations

import collections
import csv
import functools
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from textsiam.data.columns import Records, read_table, show_names
from textsiam.data.options import COLUMN_OPTIONS, ReadOptions
from textsiam.data.pairs import PairData
from textsiam.data.parsing import decode_text, split_lines
from textsiam.errors import DataError
from textsiam.registry import READERS

FIELD_LIMIT = 2**31 - 1
"""Characters one CSV field may hold (the csv module's default, 131,072, is smaller than some documents)."""
CSV_FIX = 'a field with a comma, quote or line break must be enclosed in double quotes ("" for a quote)'
TSV_FIX = "remove stray tabs from the texts"


@READERS.register("csv", patterns=("*.csv",), options=COLUMN_OPTIONS)
def read_csv(path: Path, options: ReadOptions) -> PairData:
    """Comma-separated file with a header row; columns chosen by text_a/text_b/label."""
    return read_table(path, options, functools.partial(_table, split=_csv_rows, fix=CSV_FIX))


@READERS.register("tsv", patterns=("*.tsv",), options=COLUMN_OPTIONS)
def read_tsv(path: Path, options: ReadOptions) -> PairData:
    """Tab-separated file with a header row, no quoting; columns chosen by text_a/text_b/label."""
    return read_table(path, options, functools.partial(_table, split=_tsv_rows, fix=TSV_FIX))


def _tsv_rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    return ((row, line.split("\t")) for row, line in enumerate(split_lines(text), start=1))


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, fields)`` per CSV record; a record may span lines inside quotes."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))  # the default 131,072 refused valid long texts
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise DataError(f"is not valid CSV ({err}); check the quoting", path=str(path), row=start) from None
        yield start, fields
        start = reader.line_num + 1


def _table(raw: bytes, path: Path, *, split, fix: str) -> tuple[Sequence[str], Records]:
    rows = ((row, fields) for row, fields in split(decode_text(raw, path), path) if not _blank(fields))
    first = next(rows, None)
    if first is None:
        raise DataError("file is empty; it needs a header row and at least one data row", path=str(path))
    header = [name.strip() for name in first[1]]
    duplicates = sorted(name for name, n in collections.Counter(header).items() if n > 1)
    if duplicates:
        raise DataError(
            f"header repeats column names {show_names(duplicates)}; give every column a unique name",
            path=str(path),
            row=first[0],
        )
    return header, _records(rows, header, path, fix)


def _blank(fields: list[str]) -> bool:
    """An empty or whitespace-only line (a row of empty fields is not blank: it is reported as bad data)."""
    return len(fields) == 0 or (len(fields) == 1 and not fields[0].strip())


def _records(rows: Iterator[tuple[int, list[str]]], header: list[str], path: Path, fix: str) -> Records:
    for row, fields in rows:
        if len(fields) != len(header):
            raise DataError(
                f"expected {len(header)} fields (as in the header {show_names(header)}), got {len(fields)}; {fix}",
                path=str(path),
                row=row,
            )
        yield row, dict(zip(header, fields, strict=True))
