"""What the generic table readers (csv, tsv, jsonl, parquet) share: column mapping, row checks, one prologue.

A table format only turns the file's bytes into ``(column names, (row number, record) ...)`` (a :data:`Table`);
:func:`read_table` does the rest for all of them: read the file once, pick the columns, check every row, infer the
label scale. Column names passed by the caller win; otherwise the first common name is used
(``text_a``/``sentence1``/...). The label column is optional: without one the pairs are unlabelled. How labels are
read as binary or graded: :mod:`textsiam.data.labels`.

Triplet files are read by the same readers: ``anchor, positive, negative`` or ``query, positive, negative_1 ..
negative_k`` columns give positive pairs (label 1 when the file has no label column) with their negatives kept in a
``negatives`` column (:attr:`PairData.negatives`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from textsiam.data.labels import label_scale
from textsiam.data.options import ReadOptions
from textsiam.data.pairs import PairData, build_text_pairs
from textsiam.data.parsing import check_text, parse_label, read_source
from textsiam.errors import DataError, shown

TEXT_A_NAMES = ("text_a", "sentence1", "sentence_a", "question1", "a", "anchor", "query")
TEXT_B_NAMES = ("text_b", "sentence2", "sentence_b", "question2", "b", "positive")
NEGATIVE_NAME = re.compile(r"negative(?:_?(\d+))?")
"""Negative columns of triplet data: ``negative`` or ``negative_1``, ``negative_2``, ... (in number order)."""
LABEL_NAMES = ("label", "score", "similarity")

Records = Iterator[tuple[int, Mapping[str, object]]]
Table = Callable[[bytes, Path], tuple[Sequence[str], Records]]
"""A table format: ``(raw bytes, path) -> (column names, lazy (row number, record) pairs)``."""


@dataclass(frozen=True)
class ColumnMap:
    """The resolved column names of one file; ``label`` is None for unlabelled pairs."""

    text_a: str
    text_b: str
    label: str | None
    negatives: tuple[str, ...] = ()


def read_table(path: str | os.PathLike, options: ReadOptions, table: Table) -> PairData:
    """Read ``path`` with the table format ``table`` into a PairData, honouring the column options."""
    p, raw, digest = read_source(path)
    available, records = table(raw, p)
    columns = resolve_columns(available, path=p, options=options)
    return pairs_from_records(records, columns, path=p, sha256=digest, options=options)


def resolve_columns(available: Sequence[str], *, path: Path, options: ReadOptions) -> ColumnMap:
    """Pick the text/label columns from ``available``, or raise a DataError listing the columns and the fix."""
    a = _pick(available, options.text_a, TEXT_A_NAMES, "text_a", path)
    b = _pick(available, options.text_b, TEXT_B_NAMES, "text_b", path)
    if options.label is not None:
        lab = _pick(available, options.label, (), "label", path)
    else:
        lab = next((name for name in LABEL_NAMES if name in available), None)
    if a == b:
        raise DataError(
            f"text_a and text_b both resolve to column {shown(a)}; pass two different columns with text_a=/text_b=",
            path=str(path),
        )
    found = [(m.group(1), name) for name in available if (m := NEGATIVE_NAME.fullmatch(name))]
    negatives = tuple(name for _, name in sorted(found, key=lambda f: int(f[0] or 0)))
    return ColumnMap(a, b, lab, negatives)


def _pick(available: Sequence[str], given: str | None, defaults: Sequence[str], role: str, path: Path) -> str:
    flag = "--" + role.replace("_", "-")
    if given is not None:
        if given in available:
            return given
        raise DataError(
            f"has no column {shown(given)} for {role}; available columns: {show_names(available)}. "
            f"Pass one of them as {role}= ({flag})",
            path=str(path),
            column=given,
        )
    for name in defaults:
        if name in available:
            return name
    raise DataError(
        f"no column found for {role} (tried {list(defaults)}); available columns: {show_names(available)}. "
        f"Pass the column name as {role}= ({flag})",
        path=str(path),
    )


def show_names(names: Sequence[str], most: int = 12) -> str:
    """A column list for a message: each name and the list itself cut short (a 1 MB header line stays short)."""
    items = ", ".join(shown(n, 40) for n in names[:most])
    more = f", ... {len(names) - most} more" if len(names) > most else ""
    return f"[{items}{more}]"


def pairs_from_records(
    records: Iterable[tuple[int, Mapping[str, object]]],
    columns: ColumnMap,
    *,
    path: Path,
    sha256: str,
    options: ReadOptions,
) -> PairData:
    """Check and collect ``(row_number, record)`` pairs into a PairData, stopping after ``options.limit`` rows."""
    a, b, labels, rows, negatives = [], [], [], [], []
    for row, record in records:
        a.append(check_text(_field(record, columns.text_a, path, row), path=path, row=row, column=columns.text_a))
        b.append(check_text(_field(record, columns.text_b, path, row), path=path, row=row, column=columns.text_b))
        negatives.append(
            [check_text(_field(record, c, path, row), path=path, row=row, column=c) for c in columns.negatives]
        )
        rows.append(row)
        if columns.label is not None:
            value = _field(record, columns.label, path, row)
            labels.append(parse_label(value, path=path, row=row, column=columns.label))
        if options.limit is not None and len(a) >= options.limit:
            break
    if not a:
        raise DataError("has no data rows; the file needs at least one pair after its header", path=str(path))
    extra = {"negatives": negatives} if columns.negatives else {}
    if columns.label is None and columns.negatives:  # triplets: each (anchor, positive) is a similar pair
        return build_text_pairs(
            a, b, [1.0] * len(a), source=str(path), sha256=sha256, label_kind="binary", label_range=(0.0, 1.0), **extra
        )
    if columns.label is None:
        return build_text_pairs(a, b, None, source=str(path), sha256=sha256)
    kind, scale = label_scale(labels, rows, path=path, column=columns.label, label_range=options.label_range)
    return build_text_pairs(a, b, labels, source=str(path), sha256=sha256, label_kind=kind, label_range=scale, **extra)


def _field(record: Mapping[str, object], name: str, path: Path, row: int) -> object:
    if name not in record:
        raise DataError(
            f"row has no {shown(name)} field (it has {show_names(list(record))}); every row needs the same fields",
            path=str(path),
            row=row,
            column=name,
        )
    return record[name]
