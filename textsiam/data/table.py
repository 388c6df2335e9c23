"""Every column of a generic pair file (csv, tsv, jsonl, parquet), in file order: what ``score --pairs`` copies
to its output next to the scores. Read after :func:`read_pairs` has checked the file, so rows map one to one."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from textsiam.data.parsing import decode_text, read_source, split_lines

TABLE_FORMATS = ("csv", "tsv", "jsonl", "parquet")


def read_table(path: str | Path, format: str, limit: int | None = None) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of every column as text (JSON values other than strings as JSON), ``limit`` rows at most."""
    p, raw, _ = read_source(path)
    if format == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(raw))
        header, records = table.column_names, table.to_pylist()
    elif format == "jsonl":
        records = [json.loads(line) for line in split_lines(decode_text(raw, p)) if line.strip()]
        header = list(dict.fromkeys(k for r in records for k in r))
    else:
        header, records = _delimited(decode_text(raw, p), format)
    rows = [[_text(r.get(h)) for h in header] for r in records[:limit]]
    return header, rows


def _delimited(text: str, format: str) -> tuple[list[str], list[dict[str, str]]]:
    lines = csv.reader(io.StringIO(text, newline="")) if format == "csv" else (x.split("\t") for x in split_lines(text))
    fields = [f for f in lines if f and not (len(f) == 1 and not f[0].strip())]  # blank lines, as the readers skip
    header = [name.strip() for name in fields[0]]
    return header, [dict(zip(header, f)) for f in fields[1:]]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
