"""Converters for ``textsiam data get``: a dataset's Hugging Face tables -> the files textsiam's readers expect.

A converter gets ``{split: pyarrow.Table}`` in the hub's schema (from ``datasets.load_dataset`` online, or from a
local copy with ``--from DIR``: the same tables, so the same code runs either way) and returns ``{file name: (bytes,
rows)}``; :mod:`textsiam.data.fetch` writes the files (atomically) only once every split has converted, so bad data
leaves nothing behind. Images arrive as the hub stores them, ``{"bytes", "path"}`` structs. A row that cannot be
written in the target format is a DataError naming the split, the row and the column.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from textsiam.errors import DataError

Tables = Mapping[str, pa.Table]
Files = dict[str, tuple[bytes, int]]
Converter = Callable[[Tables, bool], Files]
"""``(tables, show_progress) -> {file name: (contents, rows)}``."""
Written = list[tuple[Path, int]]


def records(table: pa.Table, split: str, show_progress: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number from 1, record)`` of every row, one record batch at a time, with a bar when asked."""
    from tqdm.auto import tqdm

    with tqdm(total=table.num_rows, desc=split, unit=" rows", disable=not show_progress, leave=False) as bar:
        row = 0
        for batch in table.to_batches(max_chunksize=4096):
            for record in batch.to_pylist():
                row += 1
                yield row, record
            bar.update(batch.num_rows)


def require(tables: Tables, columns: Sequence[str], dataset: str, splits: Sequence[str]) -> None:
    """DataError unless at least one of ``splits`` is present and each present one has every column of ``columns``."""
    present = [s for s in splits if s in tables]
    if not present:
        raise DataError(
            f"{dataset}: the copy has the splits {sorted(tables)}, none of {list(splits)}; is it the right dataset?"
        )
    for split in present:
        missing = [c for c in columns if c not in tables[split].column_names]
        if missing:
            raise DataError(
                f"{dataset}: split {split!r} lacks the column(s) {missing} (it has {tables[split].column_names}); "
                f"the converter reads the hub schema {list(columns)}: is it the right dataset?"
            )


def _field(value: Any, split: str, row: int, column: str) -> str:
    """A text field for a tab-separated file: a non-empty string without tabs or line breaks."""
    text = "" if value is None else str(value)
    if not text.strip() or any(ch in text for ch in "\t\r\n"):
        problem = "is empty" if not text.strip() else "holds a tab or line break"
        raise DataError(
            f"{problem}; it cannot be written to a tab-separated file (fix the copy or drop the row)",
            path=f"split {split}",
            row=row,
            column=column,
        )
    return text


def _lines(rows: list[list[str]], header: Sequence[str] | None, newline: str = "\n") -> tuple[bytes, int]:
    lines = (["\t".join(header)] if header else []) + ["\t".join(r) for r in rows]
    return (newline.join(lines) + newline).encode("utf-8"), len(rows)


STSB_FILES = {"train": "sts-train.csv", "validation": "sts-dev.csv", "test": "sts-test.csv"}
STSB_COLUMNS = ("genre", "dataset", "year", "sid", "score", "sentence1", "sentence2")


def convert_stsb(tables: Tables, show_progress: bool = False) -> Files:
    """mteb/stsbenchmark-sts -> the release's ``sts-{train,dev,test}.csv`` (tab-separated, no header, 7 fields)."""
    require(tables, STSB_COLUMNS, "STS-B", list(STSB_FILES))
    files: Files = {}
    for split, name in STSB_FILES.items():
        if split not in tables:
            continue
        rows = []
        for row, r in records(tables[split], split, show_progress):
            score = _score(r["score"], (0.0, 5.0), split, row)
            meta = [_field(r[c], split, row, c) for c in ("genre", "dataset", "year", "sid")]
            texts = [_field(r[c], split, row, c) for c in ("sentence1", "sentence2")]
            rows.append([*meta, f"{score:g}", *texts])
        files[name] = _lines(rows, None)
    return files


def _score(value: Any, bounds: tuple[float, float], split: str, row: int, column: str = "score") -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        score = float("nan")
    if not bounds[0] <= score <= bounds[1]:
        raise DataError(
            f"score {value!r} is not a number in {bounds[0]:g}..{bounds[1]:g}; is the copy rescaled (e.g. to 0..1)?",
            path=f"split {split}",
            row=row,
            column=column,
        )
    return score


MRPC_FILES = {
    "train": "msr_paraphrase_train.txt",
    "validation": "msr_paraphrase_dev.txt",
    "test": "msr_paraphrase_test.txt",
}
MRPC_HEADER = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")


def convert_mrpc(tables: Tables, show_progress: bool = False) -> Files:
    """nyu-mll/glue ``mrpc`` -> ``msr_paraphrase_{train,dev,test}.txt`` (the corpus's header and 5 tab-separated
    fields; GLUE keeps no sentence ids, so the two ID fields are empty). A split whose labels are all -1 (unlabelled,
    as GLUE's hidden test sets) is skipped."""
    require(tables, ("sentence1", "sentence2", "label"), "MRPC", list(MRPC_FILES))
    files: Files = {}
    for split, name in MRPC_FILES.items():
        if split not in tables or set(tables[split].column("label").to_pylist()) == {-1}:
            continue
        rows = []
        for row, r in records(tables[split], split, show_progress):
            if r["label"] not in (0, 1):
                raise DataError(f"label {r['label']!r} is not 0 or 1", path=f"split {split}", row=row, column="label")
            texts = [_field(r[c], split, row, c) for c in ("sentence1", "sentence2")]
            rows.append([str(r["label"]), "", "", *texts])
        files[name] = _lines(rows, MRPC_HEADER, "\r\n")
    return files


SICK_SPLITS = ("train", "validation", "test")


def convert_sick(tables: Tables, show_progress: bool = False) -> Files:
    """mteb/sickr-sts (``sentence1, sentence2, score``; the original's ``sentence_A, sentence_B, relatedness_score``
    are read too) -> ``sick_SPLIT.tsv`` with the header ``sentence1, sentence2, score`` (relatedness 1..5)."""
    first = next((tables[s] for s in SICK_SPLITS if s in tables), None)
    original = first is not None and "sentence_A" in first.column_names
    a, b, score = ("sentence_A", "sentence_B", "relatedness_score") if original else ("sentence1", "sentence2", "score")
    require(tables, (a, b, score), "SICK", SICK_SPLITS)
    files: Files = {}
    for split in SICK_SPLITS:
        if split not in tables:
            continue
        rows = []
        for row, r in records(tables[split], split, show_progress):
            value = _score(r[score], (1.0, 5.0), split, row, score)
            rows.append([_field(r[a], split, row, a), _field(r[b], split, row, b), f"{value:g}"])
        files[f"sick_{split}.tsv"] = _lines(rows, ("sentence1", "sentence2", "score"))
    return files


MNIST_STEMS = {"train": "train", "test": "t10k"}


def convert_mnist(tables: Tables, show_progress: bool = False) -> Files:
    """ylecun/mnist (``image`` PNG, ``label``) -> the IDX files ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``."""
    from PIL import Image, UnidentifiedImageError

    require(tables, ("image", "label"), "MNIST", list(MNIST_STEMS))
    files: Files = {}
    for split, stem in MNIST_STEMS.items():
        if split not in tables:
            continue
        images, labels = [], []
        for row, r in records(tables[split], split, show_progress):
            try:
                pixels = np.asarray(Image.open(io.BytesIO(_image_bytes(r["image"], split, row))).convert("L"))
            except (UnidentifiedImageError, OSError) as err:
                where = {"path": f"split {split}", "row": row, "column": "image"}
                raise DataError(f"image cannot be decoded ({err})", **where) from None
            if pixels.shape != (28, 28) or r["label"] not in range(10):
                raise DataError(
                    f"expected a 28x28 image and a digit label, got {pixels.shape} and {r['label']!r}",
                    path=f"split {split}",
                    row=row,
                )
            images.append(pixels)
            labels.append(r["label"])
        files[f"{stem}-images-idx3-ubyte.gz"] = _idx(np.stack(images).astype(np.uint8)), len(images)
        files[f"{stem}-labels-idx1-ubyte.gz"] = _idx(np.asarray(labels, dtype=np.uint8)), len(labels)
    return files


def _image_bytes(value: Any, split: str, row: int) -> bytes:
    data = value.get("bytes") if isinstance(value, dict) else value
    if not isinstance(data, bytes | bytearray) or not data:
        raise DataError("has no image bytes", path=f"split {split}", row=row, column="image")
    return bytes(data)


def _idx(array: np.ndarray) -> bytes:
    """IDX (big-endian, unsigned bytes) gzip-compressed with a fixed timestamp: the same data gives the same file."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + np.ascontiguousarray(array).tobytes(), mtime=0)
