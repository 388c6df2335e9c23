"""Benchmark files with fixed columns, described declaratively: one :class:`FixedFormat` per benchmark.

Every such file is tab-separated without quoting (benchmark sentences contain unbalanced ``"``), one pair per line,
optionally behind a header row; the spec says which field holds the label and the two texts, how many fields a row
has, and the label scale. :func:`read_fixed` reads any spec, so a new benchmark of this shape is a spec and a
registration (see :mod:`textsiam.data.stsb`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from textsiam.data.labels import label_scale
from textsiam.data.options import ReadOptions
from textsiam.data.pairs import PairData, build_text_pairs
from textsiam.data.parsing import check_text, decode_text, parse_label, read_source, split_lines
from textsiam.errors import DataError


@dataclass(frozen=True)
class FixedFormat:
    """Where the label and texts sit in a tab-separated benchmark row, and what the labels mean."""

    name: str  # the benchmark, for messages ("STS", "MRPC")
    columns: tuple[str, ...]  # field names in order (the header row, when the file has one)
    label: int  # field index of the label
    text_a: int
    text_b: int
    label_kind: str  # "binary" or "graded"
    label_range: tuple[float, float]
    optional: tuple[str, ...] = ()  # trailing fields that some rows (or releases) have
    header: bool = False  # a first row whose first field is ``columns[0]`` is a header and skipped

    @property
    def field_counts(self) -> tuple[int, ...]:
        n = len(self.columns)
        return (n, n + len(self.optional)) if self.optional else (n,)


def read_fixed(path: str | os.PathLike, options: ReadOptions, spec: FixedFormat) -> PairData:
    """Read a ``spec`` file: every row checked (field count, label, texts), file row numbers in every error."""
    p, raw, digest = read_source(path)
    a, b, labels, rows = [], [], [], []
    for row, line in enumerate(split_lines(decode_text(raw, p)), start=1):
        fields = line.split("\t")
        if not line.strip() or (_is_header(fields, spec) and row == 1):
            continue
        _check_count(fields, spec, p, row)
        labels.append(parse_label(fields[spec.label], path=p, row=row, column=spec.columns[spec.label]))
        a.append(check_text(fields[spec.text_a], path=p, row=row, column=spec.columns[spec.text_a]))
        b.append(check_text(fields[spec.text_b], path=p, row=row, column=spec.columns[spec.text_b]))
        rows.append(row)
        if options.limit is not None and len(rows) >= options.limit:
            break
    if not rows:
        raise DataError(f"has no data rows; a {spec.name} file needs at least one tab-separated pair", path=str(p))
    kind, scale = label_scale(
        labels,
        rows,
        path=p,
        column=spec.columns[spec.label],
        kind=spec.label_kind,
        label_range=spec.label_range,
        fixed_by=spec.name,
    )
    return build_text_pairs(a, b, labels, source=str(p), sha256=digest, label_kind=kind, label_range=scale)


def _is_header(fields: list[str], spec: FixedFormat) -> bool:
    """A header row has the header's first name and the row's field count: a header glued to the first data row
    (by a lone CR line end) is then a row with too many fields, never a skipped header that hides a pair."""
    return spec.header and fields[0].strip() == spec.columns[0] and len(fields) in spec.field_counts


def _check_count(fields: list[str], spec: FixedFormat, path, row: int) -> None:
    if len(fields) in spec.field_counts:
        return
    counts = " or ".join(str(n) for n in spec.field_counts)
    extra = f" [, {', '.join(spec.optional)}]" if spec.optional else ""
    raise DataError(
        f"expected {counts} tab-separated fields ({', '.join(spec.columns)}{extra}), got {len(fields)}. Remove stray "
        f"tabs from the sentences; if this is a generic file with a header, pass format='csv'/'tsv' (--format)",
        path=str(path),
        row=row,
    )
