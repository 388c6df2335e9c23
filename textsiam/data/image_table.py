"""Readers for tables of image pairs: ``image, text`` or ``image_a, image_b`` (+ optional ``label``) as CSV/TSV.

Image paths are relative to the table's folder (absolute paths are kept). Each image is decoded once while
reading: a missing, corrupt or unsupported one is an error naming the image file and the row, or with
``skip_bad_rows`` the row is dropped and counted.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

import datasets
import numpy as np

from textsiam.data.images import ImagePairData
from textsiam.data.labels import label_scale
from textsiam.data.options import ReadOptions
from textsiam.data.parsing import check_text, decode_text, parse_label, read_source
from textsiam.errors import DataError
from textsiam.imaging import load_image
from textsiam.registry import READERS

LEFT = ("image_a", "image")
RIGHT_IMAGE = ("image_b",)
RIGHT_TEXT = ("text", "caption")
TABLE_OPTIONS = ("limit", "label", "skip_bad_rows")


@READERS.register("image-csv", patterns=("*.images.csv",), options=TABLE_OPTIONS)
def read_image_csv(path: Path, options: ReadOptions) -> ImagePairData:
    """CSV with a header: image_a (or image), image_b or text (or caption), optional label; paths relative."""
    return _read(path, ",", limit=options.limit, skip_bad_rows=bool(options.skip_bad_rows), label=options.label)


@READERS.register("image-tsv", patterns=("*.images.tsv",), options=TABLE_OPTIONS)
def read_image_tsv(path: Path, options: ReadOptions) -> ImagePairData:
    """TSV with a header: image_a (or image), image_b or text (or caption), optional label; paths relative."""
    return _read(path, "\t", limit=options.limit, skip_bad_rows=bool(options.skip_bad_rows), label=options.label)


def _read(
    path: str | os.PathLike,
    delimiter: str,
    *,
    limit: int | None = None,
    skip_bad_rows: bool = False,
    label: str | None = None,
) -> ImagePairData:
    p, raw, digest = read_source(path)
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    rows = list(csv.reader(io.StringIO(decode_text(raw, p), newline=""), delimiter=delimiter, quoting=quoting))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise DataError("needs a header row and at least one data row", path=str(p))
    header = [h.strip() for h in rows[0]]
    left = _column(header, LEFT, p)
    right_is_image = any(c in header for c in RIGHT_IMAGE)
    right = _column(header, RIGHT_IMAGE if right_is_image else RIGHT_TEXT, p)
    label_col = label or ("label" if "label" in header else None)
    a, b, labels, label_rows, skipped = [], [], [], [], 0
    for row_no, cells in enumerate(rows[1:], start=2):
        if len(cells) != len(header):
            raise DataError(
                f"expected {len(header)} fields as in the header, got {len(cells)}", path=str(p), row=row_no
            )
        record = dict(zip(header, cells))
        try:
            left_ref = _image(record[left], p, row_no, left)
            right_val = _image(record[right], p, row_no, right) if right_is_image else None
        except DataError:
            if not skip_bad_rows:
                raise
            skipped += 1
            continue
        a.append(left_ref)
        b.append(right_val or check_text(record[right], path=p, row=row_no, column=right))
        if label_col:
            labels.append(parse_label(record.get(label_col), path=p, row=row_no, column=label_col))
            label_rows.append(row_no)
        if limit is not None and len(a) >= limit:
            break
    if skipped:
        warnings.warn(
            f"{p}: skipped {skipped} row(s) with a missing or unreadable image (--skip-bad-rows)", stacklevel=3
        )
    if not a:
        raise DataError("has no usable rows", path=str(p))
    columns = {"a": a, "b": b}
    features = {"a": datasets.Value("string"), "b": datasets.Value("string")}
    if label_col:
        columns["label"], features["label"] = np.asarray(labels, dtype=np.float32), datasets.Value("float32")
    dataset = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    kind, scale = label_scale(labels, label_rows, path=p, column=label_col) if label_col else ("none", (0.0, 1.0))
    meta = {"right": "image" if right_is_image else "text"}
    return ImagePairData(
        dataset, source=str(p), sha256=digest, label_kind=kind, label_range=scale, skipped=skipped, meta=meta
    )


def _column(header: list[str], names: tuple[str, ...], path: Path) -> str:
    for name in names:
        if name in header:
            return name
    raise DataError(f"no column among {list(names)}; the header has {header}", path=str(path))


def _image(value: str, table: Path, row: int, column: str) -> str:
    if not value.strip():
        raise DataError("image path is empty", path=str(table), row=row, column=column)
    ref = Path(value.strip())
    ref = ref if ref.is_absolute() else table.parent / ref
    try:
        load_image(str(ref))
    except DataError as err:
        raise DataError(f"{err}", path=str(table), row=row, column=column) from None
    return str(ref)


def write_image_pairs(path: str | os.PathLike, data: ImagePairData) -> None:
    """Write image pairs as a TSV that ``image-tsv`` reads back (absolute image references)."""
    from textsiam.data.writer import write_tsv

    a, b = data.a, data.b
    second = "text" if data.right_is_text else "image_b"
    rows = zip(a, b, (f"{v:g}" for v in data.labels)) if data.has_labels else zip(a, b)
    write_tsv(path, ["image_a", second] + (["label"] if data.has_labels else []), rows)
