"""Reader for the MNIST IDX ``.gz`` folder: labelled 28 x 28 digit images -> balanced same/different pairs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from textsiam.data.images import ImagePairData, ImageSet, pairs_from_collection
from textsiam.data.options import ReadOptions
from textsiam.errors import ConfigError, DataError
from textsiam.imaging import file_sha256, idx_ref, read_idx
from textsiam.registry import READERS

MNIST_SPLITS = {"train": "train", "test": "t10k"}


@READERS.register(
    "mnist", patterns=("mnist*",), options=("limit", "split", "pairs", "seed", "hard_negatives", "skip_bad_rows")
)
def read_mnist(path: Path, options: ReadOptions) -> ImagePairData:
    """MNIST folder (IDX .gz files), split train|test: balanced same/different-digit image pairs (label 1 = same).

    ``pairs`` None gives two pairs per image (one same, one different digit); ``limit`` keeps the first images.
    """
    split, limit, pairs, seed = options.split, options.limit, options.pairs, options.seed or 0
    hard_negatives = bool(options.hard_negatives)
    folder = Path(path)
    split = split or "train"
    if split not in MNIST_SPLITS:
        raise ConfigError(f"MNIST split must be one of {sorted(MNIST_SPLITS)}, got {split!r} (--split)")
    stem = MNIST_SPLITS[split]
    images_file = _find(folder, f"{stem}-images-idx3-ubyte")
    labels_file = _find(folder, f"{stem}-labels-idx1-ubyte")
    images, labels = read_idx(str(images_file)), read_idx(str(labels_file))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"images {images.shape} and labels {labels.shape} do not match; use the IDX files of one split",
            path=str(folder),
        )
    n = len(images) if limit is None else min(limit, len(images))
    refs = [idx_ref(images_file, i) for i in range(n)]
    digest = hashlib.sha256((file_sha256(str(images_file)) + file_sha256(str(labels_file))).encode()).hexdigest()
    collection = ImageSet(refs, np.asarray(labels[:n], dtype=np.int64))
    data = pairs_from_collection(collection, None, n_pairs=pairs, pair_seed=seed, hard_negatives=hard_negatives)
    data.source, data.sha256 = str(images_file), digest
    return data


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"has no {stem}.gz; an MNIST folder holds train-/t10k- images-idx3-ubyte.gz and labels-idx1-ubyte.gz",
        path=str(folder),
    )
