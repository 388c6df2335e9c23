"""One entry point for every pair file: :func:`read_pairs` picks the reader from ``format=`` or the file name."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from textsiam.data.pairs import PairData
from textsiam.errors import ConfigError, DataError
from textsiam.registry import DATASETS, READERS

FIXED_FORMATS = ("stsb", "mrpc")
"""Formats whose columns are fixed by the benchmark: no column mapping."""
GENERIC_FORMATS = ("csv", "tsv", "jsonl", "parquet")
FILE_FORMATS = FIXED_FORMATS + GENERIC_FORMATS

NAME_PATTERNS = (("sts-*.csv", "stsb"), ("msr_paraphrase_*.txt", "mrpc"))
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def read_pairs(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    label_range: tuple[float, float] | None = None,
) -> PairData:
    """Read a pair file into a :class:`PairData`.

    ``format`` is one of ``stsb``, ``mrpc``, ``csv``, ``tsv``, ``jsonl``, ``parquet``; when None it is detected from
    the file name (``sts-*.csv`` -> stsb, ``msr_paraphrase_*.txt`` -> mrpc, else by suffix). ``text_a``, ``text_b``
    and ``label`` name the columns of generic files (common names are tried when omitted; without a label column the
    pairs are unlabelled). ``limit`` keeps the first rows only. ``label_range`` fixes the scale of graded labels
    (default: observed, widened to include [0, 1]).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(
            "file not found; check the path (relative paths are resolved from the current folder)", path=str(p)
        )
    fmt = format if format is not None else detect_format(p)
    if fmt not in FILE_FORMATS:
        raise ConfigError(_unknown_format_message(fmt))
    reader = READERS.get(fmt)
    if fmt in FIXED_FORMATS:
        given = {k: v for k, v in (("text_a", text_a), ("text_b", text_b), ("label", label)) if v is not None}
        if given or label_range is not None:
            raise ConfigError(
                f"format {fmt!r} has fixed columns and label scale; drop {sorted(given) or ['label_range']} "
                "or read the file with a generic format (csv/tsv)"
            )
        return reader(p, limit=limit)
    return reader(p, text_a=text_a, text_b=text_b, label=label, limit=limit, label_range=label_range)


def detect_format(path: str | os.PathLike) -> str:
    """The format implied by a file name, or a ConfigError asking for ``format=`` / ``--format``."""
    name = Path(path).name.lower()
    for pattern, fmt in NAME_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return fmt
    suffix = Path(name).suffix
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    raise ConfigError(
        f"cannot tell the format of {str(path)!r} from its name; pass format= (CLI: --format) with one of "
        f"{', '.join(FILE_FORMATS)}"
    )


def _unknown_format_message(fmt: str) -> str:
    if fmt in DATASETS:
        return (
            f"{fmt!r} is a built-in dataset, not a file format; build it with its own function "
            f"(e.g. textsiam.data.digit_pairs()) or pass one of the file formats: {', '.join(FILE_FORMATS)}"
        )
    return f"unknown format {fmt!r}; pass format= (CLI: --format) with one of {', '.join(FILE_FORMATS)}"
