"""Readers for generic delimited files with a header row: ``.csv`` (comma, RFC 4180 quoting) and ``.tsv``.

TSV follows the IANA text/tab-separated-values convention: fields never contain tabs or newlines and ``"`` is an
ordinary character (no quoting), which is what sentence data with unbalanced quotes needs. CSV fields that contain
commas, quotes or newlines must be quoted (``"..."`` with ``""`` for a quote), as spreadsheet programs and pandas
write them.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

from textsiam.data.columns import pairs_from_records, resolve_columns
from textsiam.data.pairs import PairData
from textsiam.data.parsing import check_limit, decode_text, read_source, split_lines
from textsiam.errors import DataError
from textsiam.registry import READERS


@READERS.register("csv")
def read_csv(
    path: str | os.PathLike,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    label_range: tuple[float, float] | None = None,
) -> PairData:
    """Comma-separated file with a header row; columns chosen by text_a/text_b/label."""
    limit = check_limit(limit)
    p, raw, digest = read_source(path)
    rows = _csv_rows(decode_text(raw, p), p)
    return _read_rows(rows, p, digest, text_a, text_b, label, limit, label_range, quoting_hint=True)


@READERS.register("tsv")
def read_tsv(
    path: str | os.PathLike,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    label_range: tuple[float, float] | None = None,
) -> PairData:
    """Tab-separated file with a header row, no quoting; columns chosen by text_a/text_b/label."""
    limit = check_limit(limit)
    p, raw, digest = read_source(path)
    rows = ((row, line.split("\t")) for row, line in enumerate(split_lines(decode_text(raw, p)), start=1))
    return _read_rows(rows, p, digest, text_a, text_b, label, limit, label_range, quoting_hint=False)


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, fields)`` per CSV record; a record may span lines inside quotes."""
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


def _read_rows(
    rows: Iterator[tuple[int, list[str]]],
    path: Path,
    digest: str,
    text_a: str | None,
    text_b: str | None,
    label: str | None,
    limit: int | None,
    label_range: tuple[float, float] | None,
    *,
    quoting_hint: bool,
) -> PairData:
    rows = ((row, fields) for row, fields in rows if not _blank(fields))
    first = next(rows, None)
    if first is None:
        raise DataError("file is empty; it needs a header row and at least one data row", path=str(path))
    header = [name.strip() for name in first[1]]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(
            f"header repeats column names {duplicates}; give every column a unique name", path=str(path), row=first[0]
        )
    columns = resolve_columns(header, path=path, text_a=text_a, text_b=text_b, label=label)
    records = _records(rows, header, path, quoting_hint)
    return pairs_from_records(records, columns, path=path, sha256=digest, limit=limit, label_range=label_range)


def _blank(fields: list[str]) -> bool:
    """An empty or whitespace-only line (a row of empty fields is not blank: it is reported as bad data)."""
    return len(fields) == 0 or (len(fields) == 1 and not fields[0].strip())


def _records(
    rows: Iterator[tuple[int, list[str]]], header: list[str], path: Path, quoting_hint: bool
) -> Iterator[tuple[int, dict[str, str]]]:
    for row, fields in rows:
        if len(fields) != len(header):
            hint = (
                'a field with a comma, quote or line break must be enclosed in double quotes ("" for a quote)'
                if quoting_hint
                else "remove stray tabs from the texts"
            )
            raise DataError(
                f"expected {len(header)} fields (as in the header {header}), got {len(fields)}; {hint}",
                path=str(path),
                row=row,
            )
        yield row, dict(zip(header, fields, strict=True))
