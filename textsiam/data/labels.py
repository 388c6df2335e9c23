"""Binary or graded? The rule every reader applies to its labels, so a typo never changes what a file means.

1. A format that knows its scale says so: MRPC is binary (every label 0 or 1), STS-B graded on 0..5.
2. ``label_range=(low, high)`` (CLI ``--label-range LOW HIGH``) declares graded labels on that scale; every label
   must lie inside it (nothing is clipped).
3. Otherwise labels that are all 0 or 1 are binary. Whole numbers other than 0 and 1 (a ``7`` or ``-1`` among 0/1
   labels, a file of ``2`` s, 1..5 ratings) are an error naming the first such row: a binary file must hold 0/1
   only, and integer ratings need their scale (``label_range``) to be read as graded.
4. Labels with a fractional part (``0.25``, ``3.8``) are graded on the observed range widened to include [0, 1];
   pass ``label_range`` when the file covers only part of its scale (e.g. an STS subset without a 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textsiam.errors import DataError

BINARY = (0.0, 1.0)
RANGE_FIX = "label_range=(low, high) (CLI: --label-range LOW HIGH)"


def label_scale(
    labels: Sequence[float],
    rows: Sequence[int],
    *,
    path: Path | str | None,
    column: str | None,
    kind: str | None = None,
    label_range: tuple[float, float] | None = None,
    fixed_by: str | None = None,
) -> tuple[str, tuple[float, float]]:
    """``(label_kind, label_range)`` of ``labels`` (read from ``rows``), or a DataError naming the bad row.

    ``kind`` / ``label_range`` are what the format (named by ``fixed_by``) or the caller declared; None: infer
    by the module's rule.
    """
    where = {"path": None if path is None else str(path), "column": column}
    fix = "fix the row" if fixed_by else f"fix the row, or pass a wider {RANGE_FIX}"
    if kind == "binary":
        _check_inside(labels, rows, BINARY, where, binary=True, fix="fix the row")
        return "binary", BINARY
    if label_range is not None:
        _check_inside(labels, rows, label_range, where, binary=False, fix=fix, scale=fixed_by)
        return "graded", label_range
    if all(x in BINARY for x in labels):
        return "binary", BINARY
    if all(float(x).is_integer() for x in labels):
        row, value = next((r, x) for r, x in zip(rows, labels) if x not in BINARY)
        raise DataError(
            f"label {value:g} is neither 0 nor 1, and every label in the file is a whole number: binary labels must "
            f"be 0 or 1 (1 = similar); fix the row, or for graded scores such as 1..5 ratings pass {RANGE_FIX}",
            row=row,
            **where,
        )
    return "graded", (min(0.0, float(min(labels))), max(1.0, float(max(labels))))


def _check_inside(
    labels: Sequence[float],
    rows: Sequence[int],
    bounds: tuple[float, float],
    where: dict,
    *,
    binary: bool,
    fix: str,
    scale: str | None = None,
) -> None:
    lo, hi = bounds
    for row, value in zip(rows, labels):
        if binary and value not in BINARY:
            raise DataError(f"label {value:g} must be 0 or 1 (1 = similar); {fix}", row=row, **where)
        if not lo <= value <= hi:
            name = f"the {scale} range" if scale else "the label range"
            raise DataError(f"label {value:g} is outside {name} {lo:g}..{hi:g}; {fix}", row=row, **where)
