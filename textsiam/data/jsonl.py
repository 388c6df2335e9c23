"""Reader for JSON Lines files: one JSON object per line, e.g. ``{"text_a": "...", "text_b": "...", "label": 1}``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from textsiam.data.columns import pairs_from_records, resolve_columns
from textsiam.data.pairs import PairData
from textsiam.data.parsing import check_limit, decode_text, read_source, split_lines
from textsiam.errors import DataError
from textsiam.registry import READERS


@READERS.register("jsonl")
def read_jsonl(
    path: str | os.PathLike,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    label_range: tuple[float, float] | None = None,
) -> PairData:
    """JSON Lines, one object per line; columns chosen by text_a/text_b/label."""
    limit = check_limit(limit)
    p, raw, digest = read_source(path)
    records = _objects(split_lines(decode_text(raw, p)), p)
    first = next(records, None)
    if first is None:
        raise DataError("file is empty; it needs at least one JSON object line", path=str(p))
    columns = resolve_columns(list(first[1]), path=p, text_a=text_a, text_b=text_b, label=label)

    def _all() -> Iterator[tuple[int, dict]]:
        yield first
        yield from records

    return pairs_from_records(_all(), columns, path=p, sha256=digest, limit=limit, label_range=label_range)


def _objects(lines: list[str], path: Path) -> Iterator[tuple[int, dict]]:
    for row, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"is not valid JSON ({err.msg} at character {err.pos + 1}); each line must be one JSON object",
                path=str(path),
                row=row,
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f'expected a JSON object like {{"text_a": ..., "text_b": ..., "label": ...}}, got '
                f"{type(record).__name__}",
                path=str(path),
                row=row,
            )
        yield row, record
