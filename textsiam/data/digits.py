"""Embedded image pairs from scikit-learn's 8x8 handwritten digits (1797 images, bundled with sklearn, no download).

Images are split first (stratified by class, seeded) into train/dev/test so that no image appears in two splits;
pairs are then built inside one split as in the classic Keras siamese MNIST example: every image gets one partner
of the same class (label 1) and one of a different class (label 0), so exactly half the pairs are positive.
Each image is a flattened float32 vector of 64 pixels in [0, 1] (reshape to ``DIGIT_IMAGE_SHAPE`` for a CNN).
"""

from __future__ import annotations

import functools
import hashlib
import math

import datasets
import numpy as np

from textsiam.data.pairs import PairData
from textsiam.errors import ConfigError
from textsiam.registry import DATASETS

DIGIT_IMAGE_SHAPE = (8, 8)
DIGITS_SOURCE = "sklearn:load_digits"
SPLITS = ("train", "dev", "test")


@functools.lru_cache(maxsize=1)
def load_digit_images() -> tuple[np.ndarray, np.ndarray, str]:
    """``(images (1797, 64) float32 in [0, 1], classes (1797,), sha256 of the raw pixel values)``; read-only."""
    from sklearn.datasets import load_digits

    data = load_digits()
    raw = np.ascontiguousarray(data.data, dtype=np.uint8)  # pixel values 0..16
    images = (raw.astype(np.float32) / 16.0).reshape(len(raw), -1)
    classes = np.asarray(data.target, dtype=np.int64)
    for array in (images, classes):
        array.setflags(write=False)
    return images, classes, hashlib.sha256(raw.tobytes()).hexdigest()


def split_images(classes: np.ndarray, dev_fraction: float, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Stratified, seeded split of image indices into disjoint sorted ``train``/``dev``/``test`` index arrays."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {name: [] for name in SPLITS}
    for cls in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == cls))
        n_test = int(round(test_fraction * len(members)))
        n_dev = int(round(dev_fraction * len(members)))
        parts["test"].extend(members[:n_test].tolist())
        parts["dev"].extend(members[n_test : n_test + n_dev].tolist())
        parts["train"].extend(members[n_test + n_dev :].tolist())
    return {name: np.sort(np.asarray(idx, dtype=np.int64)) for name, idx in parts.items()}


def balanced_pairs(
    indices: np.ndarray, classes: np.ndarray, n_pairs: int | None, rng: np.random.Generator
) -> np.ndarray:
    """``(n, 3)`` rows ``(i, j, same)``: per image one same-class and one other-class partner, in shuffled order.

    With ``n_pairs`` larger than two per image, further rounds draw new partners; truncation keeps the
    positive/negative alternation, so an even ``n_pairs`` is exactly balanced.
    """
    by_class = {int(c): indices[classes[indices] == c] for c in np.unique(classes[indices])}
    if len(by_class) < 2 or min(len(m) for m in by_class.values()) < 2:
        raise ConfigError("each split needs at least 2 classes with at least 2 images; lower dev/test fractions")
    per_round = 2 * len(indices)
    rounds = 1 if n_pairs is None else math.ceil(n_pairs / per_round)
    rows = []
    for _ in range(rounds):
        for i in rng.permutation(indices):
            cls = int(classes[i])
            same = by_class[cls]
            k = int(rng.integers(len(same) - 1))
            k += int(k >= np.searchsorted(same, i))  # skip the image itself (``same`` is sorted)
            other = [c for c in by_class if c != cls][int(rng.integers(len(by_class) - 1))]
            rows.append((i, same[k], 1))
            rows.append((i, by_class[other][int(rng.integers(len(by_class[other])))], 0))
    pairs = np.asarray(rows[: n_pairs or len(rows)], dtype=np.int64)
    return pairs[rng.permutation(len(pairs))]


@DATASETS.register("digits", splits=SPLITS)
def digit_pairs(
    split: str = "train",
    n_pairs: int | None = None,
    seed: int = 0,
    dev_fraction: float = 0.15,
    test_fraction: float = 0.25,
    *,
    split_seed: int = 0,
) -> PairData:
    """sklearn 8x8 digits as balanced same/different-class image pairs (64 floats per image, label 1 = same digit).

    ``seed`` draws the pairs; ``split_seed`` (kept separate on purpose) draws the image split, so splits built with
    different pairing seeds still never share an image. ``n_pairs`` None gives two pairs per image of the split.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
    if not (0.0 <= dev_fraction < 1 and 0.0 <= test_fraction < 1 and dev_fraction + test_fraction < 1):
        raise ConfigError(
            f"dev_fraction and test_fraction must be >= 0 with a sum below 1, got {dev_fraction} and {test_fraction}"
        )
    if n_pairs is not None and (isinstance(n_pairs, bool) or not isinstance(n_pairs, int) or n_pairs < 1):
        raise ConfigError(f"n_pairs must be a positive integer or None (two pairs per image), got {n_pairs!r}")
    images, classes, digest = load_digit_images()
    indices = split_images(classes, dev_fraction, test_fraction, split_seed)[split]
    if len(indices) == 0:
        raise ConfigError(f"split {split!r} is empty with dev_fraction={dev_fraction}, test_fraction={test_fraction}")
    pairs = balanced_pairs(indices, classes, n_pairs, np.random.default_rng(seed))
    vector = datasets.List(datasets.Value("float32"), length=images.shape[1])
    features = datasets.Features({"a": vector, "b": vector, "label": datasets.Value("float32")})
    columns = {"a": images[pairs[:, 0]], "b": images[pairs[:, 1]], "label": pairs[:, 2].astype(np.float32)}
    dataset = datasets.Dataset.from_dict(columns, features=features)
    return PairData(dataset, source=DIGITS_SOURCE, sha256=digest, label_kind="binary", label_range=(0.0, 1.0))
