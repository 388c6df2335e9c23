"""Column mapping for the generic readers (csv, tsv, jsonl, parquet): which columns hold text a, text b and label.

Names passed by the caller win; otherwise the first common name found is used (``text_a``/``sentence1``/...). The
label column is optional: without one the pairs are unlabelled (label_kind ``"none"``). Labels are binary when every
value is 0 or 1, graded otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from textsiam.data.pairs import PairData, build_text_pairs
from textsiam.data.parsing import check_text, parse_label
from textsiam.errors import DataError

TEXT_A_NAMES = ("text_a", "sentence1", "sentence_a", "question1", "a")
TEXT_B_NAMES = ("text_b", "sentence2", "sentence_b", "question2", "b")
LABEL_NAMES = ("label", "score", "similarity")


@dataclass(frozen=True)
class ColumnMap:
    """The resolved column names of one file; ``label`` is None for unlabelled pairs."""

    text_a: str
    text_b: str
    label: str | None


def resolve_columns(
    available: Sequence[str],
    *,
    path: Path,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
) -> ColumnMap:
    """Pick the text/label columns from ``available``, or raise a DataError listing the columns and the fix."""
    a = _pick(available, text_a, TEXT_A_NAMES, "text_a", path)
    b = _pick(available, text_b, TEXT_B_NAMES, "text_b", path)
    if label is not None:
        lab = _pick(available, label, (), "label", path)
    else:
        lab = next((name for name in LABEL_NAMES if name in available), None)
    if a == b:
        raise DataError(
            f"text_a and text_b both resolve to column {a!r}; pass two different columns with text_a=/text_b=",
            path=str(path),
        )
    return ColumnMap(a, b, lab)


def _pick(available: Sequence[str], given: str | None, defaults: Sequence[str], role: str, path: Path) -> str:
    flag = "--" + role.replace("_", "-")
    if given is not None:
        if given in available:
            return given
        raise DataError(
            f"has no column {given!r} for {role}; available columns: {list(available)}. "
            f"Pass one of them as {role}= ({flag})",
            path=str(path),
            column=given,
        )
    for name in defaults:
        if name in available:
            return name
    raise DataError(
        f"no column found for {role} (tried {list(defaults)}); available columns: {list(available)}. "
        f"Pass the column name as {role}= ({flag})",
        path=str(path),
    )


def pairs_from_records(
    records: Iterable[tuple[int, Mapping[str, object]]],
    columns: ColumnMap,
    *,
    path: Path,
    sha256: str,
    limit: int | None,
    label_range: tuple[float, float] | None = None,
) -> PairData:
    """Check and collect ``(row_number, record)`` pairs into a PairData, stopping after ``limit`` rows."""
    a, b, labels = [], [], []
    for row, record in records:
        a.append(check_text(_field(record, columns.text_a, path, row), path=path, row=row, column=columns.text_a))
        b.append(check_text(_field(record, columns.text_b, path, row), path=path, row=row, column=columns.text_b))
        if columns.label is not None:
            value = _field(record, columns.label, path, row)
            labels.append(parse_label(value, path=path, row=row, column=columns.label))
        if limit is not None and len(a) >= limit:
            break
    if not a:
        raise DataError("has no data rows; the file needs at least one pair after its header", path=str(path))
    return build_text_pairs(
        a,
        b,
        labels if columns.label is not None else None,
        source=str(path),
        sha256=sha256,
        label_range=label_range,
    )


def _field(record: Mapping[str, object], name: str, path: Path, row: int) -> object:
    if name not in record:
        raise DataError(
            f"row has no {name!r} field (it has {list(record)}); every row needs the same fields",
            path=str(path),
            row=row,
            column=name,
        )
    return record[name]
