"""Single texts streamed from a file in chunks, for ``encode`` and ``search``: memory stays flat however long the file.

A plain text file (any name that is not ``.csv``/``.tsv``/``.jsonl``/``.ndjson``/``.parquet``) holds one text per
line. Tabular files hold the texts in one column (``column=``; a file with one column needs none, otherwise the
first of ``text``, ``sentence``, ``query``, ``body``, ``title`` that exists is used). Rows are numbered from 0 in
file order and come back in that order; an empty text is a :class:`~textsiam.errors.DataError` naming its row,
because silently skipping it would shift every later row of the output.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textsiam.errors import ConfigError, DataError

TEXT_FORMATS = ("lines", "csv", "tsv", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
TEXT_COLUMN_NAMES = ("text", "sentence", "query", "body", "title")


def text_format(path: str | os.PathLike, format: str | None = None) -> str:
    """``format`` if given (checked), else the format implied by the file suffix (``lines`` for anything else)."""
    if format is None:
        return _SUFFIXES.get(Path(path).suffix.lower(), "lines")
    if format not in TEXT_FORMATS:
        raise ConfigError(f"unknown text file format {format!r}; pass one of {', '.join(TEXT_FORMATS)}")
    return format


def iter_text_chunks(
    path: str | os.PathLike,
    *,
    column: str | None = None,
    format: str | None = None,
    chunk_size: int = 4096,
    start: int = 0,
    stop: int | None = None,
    id_column: str | None = None,
) -> Iterator[tuple[list[str], list[Any]]]:
    """Yield ``(texts, ids)`` chunks of rows ``start .. stop-1``; ids are ``id_column``'s values or row numbers."""
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, got {chunk_size!r}")
    p = _check_file(path)
    fmt = text_format(p, format)
    if fmt == "lines" and (column or id_column):
        raise ConfigError(f"{p} is read as one text per line, which has no columns; pass --format csv/tsv/jsonl")
    texts: list[str] = []
    ids: list[Any] = []
    for row, record in enumerate(_records(fmt, p, column, id_column)):
        if row < start:
            continue
        if stop is not None and row >= stop:
            break
        text, ident = record
        texts.append(_check(text, p, row, column))
        ids.append(row if id_column is None else ident)
        if len(texts) == chunk_size:
            yield texts, ids
            texts, ids = [], []
    if texts:
        yield texts, ids


def _records(fmt: str, path: Path, column: str | None, id_column: str | None) -> Iterator[tuple]:
    """The reader's ``(text, id)`` records; a byte that is not UTF-8 is a DataError naming its line."""
    try:
        yield from _ROW_READERS[fmt](path, column, id_column)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _not_utf8(path: Path) -> DataError:
    """The DataError for a file that is not UTF-8, naming its first bad line (1-based) and byte: the text reader
    decodes in blocks, so the line is found again in the raw bytes."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                return DataError(
                    f"line {number} is not valid UTF-8 (byte 0x{raw[err.start]:02x} at character {err.start}); "
                    "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                    path=str(path),
                )
    return DataError("is not valid UTF-8; re-save the file as UTF-8", path=str(path))


def count_texts(path: str | os.PathLike, *, column: str | None = None, format: str | None = None) -> int:
    """The number of texts in the file (one pass; parquet reads only its metadata)."""
    p = _check_file(path)
    fmt = text_format(p, format)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(p).metadata.num_rows)
    return sum(1 for _ in _records(fmt, p, column, None))


def read_texts(path: str | os.PathLike, **kwargs: Any) -> tuple[list[str], list[Any]]:
    """All texts and ids of a file at once (for query files and tests)."""
    texts: list[str] = []
    ids: list[Any] = []
    for t, i in iter_text_chunks(path, **kwargs):
        texts += t
        ids += i
    return texts, ids


def _check_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        what = "is a folder, not a file" if p.is_dir() else "file not found; check the path"
        raise DataError(what, path=str(p))
    return p


def _check(text: Any, path: Path, row: int, column: str | None) -> str:
    if not isinstance(text, str):
        raise DataError(f"expected text, got {text!r} ({type(text).__name__})", path=str(path), row=row, column=column)
    if not text.strip():
        raise DataError(
            "text is empty (rows are numbered from 0); fill it in or remove the row", path=str(path), row=row
        )
    return text


def _pick_column(columns: list[str], given: str | None, path: Path) -> str:
    if given is not None:
        if given not in columns:
            raise DataError(f"has no column {given!r}; available columns: {columns}", path=str(path), column=given)
        return given
    if len(columns) == 1:
        return columns[0]
    found = next((c for c in TEXT_COLUMN_NAMES if c in columns), None)
    if found is None:
        raise DataError(
            f"cannot tell which column holds the texts (tried {list(TEXT_COLUMN_NAMES)}); available columns: "
            f"{columns}. Pass --column NAME",
            path=str(path),
        )
    return found


def _lines(path: Path, column: str | None, id_column: str | None) -> Iterator[tuple[str, None]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line in f:
            yield line.rstrip("\n").rstrip("\r"), None


def _table(rows: Iterator[list[str]], path: Path, column: str | None, id_column: str | None) -> Iterator[tuple]:
    header = next(rows, None)
    if header is None:
        raise DataError("file is empty; it needs a header row", path=str(path))
    header = [h.strip() for h in header]
    col = header.index(_pick_column(header, column, path))
    ident = header.index(_pick_column(header, id_column, path)) if id_column else None
    for n, fields in enumerate(rows):
        if len(fields) != len(header):
            raise DataError(f"expected {len(header)} fields as in the header, got {len(fields)}", path=str(path), row=n)
        yield fields[col], (fields[ident] if ident is not None else None)


def _csv(path: Path, column: str | None, id_column: str | None) -> Iterator[tuple]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        yield from _table(csv.reader(f), path, column, id_column)


def _tsv(path: Path, column: str | None, id_column: str | None) -> Iterator[tuple]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        yield from _table((line.rstrip("\n").rstrip("\r").split("\t") for line in f), path, column, id_column)


def _jsonl(path: Path, column: str | None, id_column: str | None) -> Iterator[tuple]:
    col = None
    with open(path, encoding="utf-8-sig") as f:
        for row, line in enumerate(line for line in f if line.strip()):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"is not valid JSON ({err.msg})", path=str(path), row=row) from None
            if not isinstance(record, dict):
                raise DataError(f"expected a JSON object, got {type(record).__name__}", path=str(path), row=row)
            col = col or _pick_column(list(record), column, path)
            if col not in record or (id_column and id_column not in record):
                missing = col if col not in record else id_column
                raise DataError(f"row has no {missing!r} field", path=str(path), row=row, column=missing)
            yield record[col], (record[id_column] if id_column else None)


def _parquet(path: Path, column: str | None, id_column: str | None) -> Iterator[tuple]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    col = _pick_column(file.schema_arrow.names, column, path)
    wanted = [col] + ([_pick_column(file.schema_arrow.names, id_column, path)] if id_column else [])
    for batch in file.iter_batches(batch_size=4096, columns=wanted):
        texts = batch.column(0).to_pylist()
        ids = batch.column(1).to_pylist() if id_column else [None] * len(texts)
        yield from zip(texts, ids)


_ROW_READERS = {"lines": _lines, "csv": _csv, "tsv": _tsv, "jsonl": _jsonl, "parquet": _parquet}


def read_lines(path: Path, flag: str) -> list[str]:
    """The non-empty lines (stripped) of a UTF-8 text file named by the option ``flag``, for the messages."""
    if not path.is_file():
        raise DataError(f"{flag}: file not found; pass a UTF-8 file with one text per line", path=str(path))
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(
            f"{flag}: not valid UTF-8 (byte {err.object[err.start]:#04x} at offset {err.start}); re-save the "
            "file as UTF-8",
            path=str(path),
        ) from None
    texts = [line.strip() for line in lines if line.strip()]
    if not texts:
        raise DataError(f"{flag}: the file holds no text; put one text per line", path=str(path))
    return texts
