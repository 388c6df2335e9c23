"""One entry point for every pair file: :func:`read_pairs` picks the reader from ``format=`` or the file name.

Adding a format is one file (plus its test) that registers a reader in ``textsiam.registry.READERS``::

    @READERS.register("fnc1", patterns=("fnc-1*",), options=("limit", "split"))
    def read_fnc1(path: Path, options: ReadOptions) -> PairData:
        '''FNC-1 stances + bodies folder; split train or competition_test.'''

The contract:

- A reader is called as ``reader(path, options)``: ``path`` is a :class:`~pathlib.Path` that exists (a file, or a
  folder for folder formats such as MNIST or COCO), ``options`` a :class:`~textsiam.data.options.ReadOptions`
  (columns, ``limit``, ``label_range``, ``split``; values already checked). It returns a PairData and raises
  DataError (file, row, column) for bad data.
- ``patterns``: shell patterns matched against the lower-cased file or folder name, used by :func:`detect_format`;
  the most specific match wins (``sts-*.csv`` beats ``*.csv``); two formats matching equally well is an error.
- ``options``: the ReadOptions fields the reader honours; :func:`read_pairs` refuses any other option that is set
  with a ConfigError, before the file is read. A folder format takes ``split``. ``keep_classes`` is no reader's:
  :func:`read_pairs` applies it to what the reader returned.
- The first line of the docstring is what ``textsiam list readers`` shows.

The format lists in messages and help come from READERS (:func:`file_formats`), so nothing else needs an edit.
Embedded datasets (``digits:train``) are in ``textsiam.registry.DATASETS``, not here.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from textsiam.data.options import ANY_READER_OPTIONS, ReadOptions
from textsiam.data.pairs import PairData
from textsiam.errors import ConfigError, DataError, shown
from textsiam.registry import DATASETS, READERS


def read_pairs(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    label_range: tuple[float, float] | None = None,
    split: str | None = None,
    pairs: int | None = None,
    seed: int | None = None,
    skip_bad_rows: bool | None = None,
    hard_negatives: bool | None = None,
    bodies: str | os.PathLike | None = None,
    keep_classes: Sequence[str] | None = None,
) -> PairData:
    """Read a pair file (or dataset folder) into a :class:`PairData`.

    ``format`` is a name from :func:`file_formats`; when None it is detected from the file name (``sts-*.csv`` ->
    stsb, ``msr_paraphrase_*.txt`` -> mrpc, else by suffix). ``text_a``, ``text_b`` and ``label`` name the columns
    of generic files (common names are tried when omitted; without a label column the pairs are unlabelled).
    ``limit`` keeps the first rows only. ``label_range`` declares graded labels on that scale; without it, labels
    are binary 0/1 or (with fractions) graded on the observed range (:mod:`textsiam.data.labels`). ``split`` picks
    the part of a dataset folder. ``bodies`` is the FNC-1 bodies file of a stances file (default: beside it).
    ``keep_classes`` keeps only the pairs of those classes (e.g. the related FNC-1 stances), in their order.
    """
    options = ReadOptions(
        text_a=text_a,
        text_b=text_b,
        label=label,
        limit=limit,
        label_range=label_range,
        split=split,
        bodies=None if bodies is None else str(bodies),
        pairs=pairs,
        skip_bad_rows=skip_bad_rows or None,
        hard_negatives=hard_negatives or None,
        keep_classes=keep_classes,  # checked and made a tuple by ReadOptions
    )
    p = Path(path)
    if not p.exists():
        raise DataError(
            "file not found; check the path (relative paths are resolved from the current folder)", path=str(p)
        )
    fmt = format if format is not None else detect_format(p)
    if fmt not in READERS:
        raise ConfigError(_unknown_format_message(fmt))
    honoured = READERS.meta(fmt).get("options", ())
    refused = [name for name in options.given() if name not in (*honoured, *ANY_READER_OPTIONS)]
    if refused:
        raise ConfigError(
            f"format {fmt!r} does not take {refused} (it takes {list(honoured) or 'no options'}); drop them, or "
            "to choose columns and a label scale read the file with a generic format (csv, tsv, jsonl, parquet)"
        )
    if seed is not None and "seed" in honoured:  # pair sampling seed: only for readers that draw pairs
        options = replace(options, seed=seed)
    data = READERS.get(fmt)(p, options)
    return data if options.keep_classes is None else _keep_classes(data, options.keep_classes, p)


def _keep_classes(data: PairData, keep: tuple[str, ...], path: Path) -> PairData:
    """The pairs of ``data`` whose class is one of ``keep``; a DataError for pairs without classes or a class that
    none of them has (a misspelt name would otherwise keep nothing, or less than meant)."""
    if "class" not in data.dataset.column_names:
        raise DataError(
            "keep_classes needs pairs with class labels (FNC-1 stances, or a class column); these have none",
            path=str(path),
        )
    labels = np.asarray(data.class_labels)
    present = sorted(set(labels.tolist()))
    absent = [c for c in keep if c not in present]
    if absent:
        raise DataError(
            f"keep_classes {list(keep)}: no pair has class {absent}; the classes here are {present}",
            path=str(path),
        )
    return data.select(np.flatnonzero(np.isin(labels, keep)))


def file_formats() -> list[str]:
    """Every registered file format, sorted."""
    return READERS.names()


def detect_format(path: str | os.PathLike) -> str:
    """The format whose most specific ``patterns`` entry matches the file name, or a ConfigError asking for format=."""
    name = Path(path).name.lower()
    best: dict[str, int] = {}
    for fmt in READERS.names():
        for pattern in READERS.meta(fmt).get("patterns", ()):
            if fnmatch.fnmatchcase(name, pattern.lower()):
                best[fmt] = max(best.get(fmt, -1), _specificity(pattern))
    if not best:
        raise ConfigError(
            f"cannot tell the format of {str(path)!r} from its name; pass format= (CLI: --format) with one of "
            f"{', '.join(file_formats())}"
        )
    top = max(best.values())
    winners = [fmt for fmt, score in best.items() if score == top]
    if len(winners) > 1:
        raise ConfigError(
            f"the name of {str(path)!r} fits the formats {winners} equally well; pass format= (CLI: --format)"
        )
    return winners[0]


def _specificity(pattern: str) -> int:
    """How much of a pattern is literal: ``sts-*.csv`` (8) is more specific than ``*.csv`` (4)."""
    return sum(ch not in "*?[]" for ch in pattern)


def _unknown_format_message(fmt: str) -> str:
    formats = ", ".join(file_formats())
    if fmt in DATASETS:
        return (
            f"{fmt!r} is a built-in dataset, not a file format; load it as {fmt}:SPLIT (e.g. {fmt}:train) with "
            f"textsiam.api.load_data, or pass one of the file formats: {formats}"
        )
    return f"unknown format {shown(fmt)}; pass format= (CLI: --format) with one of {formats}"
