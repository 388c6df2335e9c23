"""JSON Lines parsing shared by the data readers and the training-log reader (no torch, no textsiam layers).

One JSON object per line; blank lines are skipped; rows are numbered from 1 by line. Every failure is a
:class:`~textsiam.errors.DataError` naming the file and the row, and never quotes more than a few dozen characters
of the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from textsiam.errors import DataError


def parse_json_lines(lines: Iterable[str], path: str | os.PathLike, example: str = "") -> Iterator[tuple[int, dict]]:
    """``(row, object)`` for each non-blank line; ``example`` (e.g. ``{"text_a": ...}``) goes into the hint."""
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
            like = f" like {example}" if example else ""
            raise DataError(f"expected a JSON object{like}, got {type(record).__name__}", path=str(path), row=row)
        yield row, record


def read_json_lines(path: str | os.PathLike) -> list[tuple[int, dict]]:
    """Every ``(row, object)`` of a UTF-8 JSON Lines file (split on ``\\n`` only, like the data readers)."""
    text = Path(path).read_text(encoding="utf-8")
    return list(parse_json_lines(text.split("\n"), path))
