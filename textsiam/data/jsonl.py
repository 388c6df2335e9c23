"""Reader for JSON Lines files: one JSON object per line, e.g. ``{"text_a": "...", "text_b": "...", "label": 1}``."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from textsiam.data.columns import Records, read_table
from textsiam.data.options import COLUMN_OPTIONS, ReadOptions
from textsiam.data.pairs import PairData
from textsiam.data.parsing import decode_text, split_lines
from textsiam.errors import DataError
from textsiam.jsonlines import parse_json_lines
from textsiam.registry import READERS

EXAMPLE = '{"text_a": ..., "text_b": ..., "label": ...}'


@READERS.register("jsonl", patterns=("*.jsonl", "*.ndjson"), options=COLUMN_OPTIONS)
def read_jsonl(path: Path, options: ReadOptions) -> PairData:
    """JSON Lines, one object per line; columns chosen by text_a/text_b/label."""
    return read_table(path, options, jsonl_table)


def jsonl_table(raw: bytes, path: Path) -> tuple[Sequence[str], Records]:
    """The keys of the first object are the columns; every later object must have the chosen ones."""
    records = parse_json_lines(split_lines(decode_text(raw, path)), path, example=EXAMPLE)
    first = next(records, None)
    if first is None:
        raise DataError("file is empty; it needs at least one JSON object line", path=str(path))
    return list(first[1]), itertools.chain([first], records)
