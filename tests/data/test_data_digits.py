"""Embedded digit pairs: balanced, split by image, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from textsiam.data import digit_pairs
from textsiam.data.digits import load_digit_images
from textsiam.errors import ConfigError


def image_ids(pairs) -> set[bytes]:
    """Identify images by their pixel bytes (the pairs store pixels, not indices)."""
    a = np.asarray(pairs.a, dtype=np.float32)
    b = np.asarray(pairs.b, dtype=np.float32)
    return {row.tobytes() for row in np.concatenate([a, b])}


def test_shape_range_and_balance():
    pairs = digit_pairs("dev")
    a = np.asarray(pairs.a, dtype=np.float32)
    assert a.shape == (len(pairs), 64)
    assert a.min() >= 0.0 and a.max() <= 1.0 and a.max() > 0.5
    assert pairs.labels.mean() == 0.5
    assert pairs.label_kind == "binary" and pairs.source == "sklearn:load_digits"
    _, classes, _ = load_digit_images()
    n_dev_images = sum(round(0.15 * n) for n in np.bincount(classes))  # stratified: 15 % of each class
    assert len(pairs) == 2 * n_dev_images


def test_labels_match_classes():
    images, classes, _ = load_digit_images()
    class_of = {row.tobytes(): int(c) for row, c in zip(images, classes, strict=True)}
    pairs = digit_pairs("test", seed=2)
    a = np.asarray(pairs.a, dtype=np.float32)
    b = np.asarray(pairs.b, dtype=np.float32)
    same = [class_of[x.tobytes()] == class_of[y.tobytes()] for x, y in zip(a, b, strict=True)]
    assert pairs.labels.tolist() == [float(s) for s in same]
    assert not any((x == y).all() for x, y in zip(a, b, strict=True))  # never an image with itself


def test_no_image_in_two_splits():
    ids = {split: image_ids(digit_pairs(split, seed=i)) for i, split in enumerate(("train", "dev", "test"))}
    assert ids["train"].isdisjoint(ids["dev"])
    assert ids["train"].isdisjoint(ids["test"])
    assert ids["dev"].isdisjoint(ids["test"])


def test_deterministic_and_seed_dependent():
    first = digit_pairs("dev", seed=0)
    assert first.a == digit_pairs("dev", seed=0).a
    assert first.labels.tolist() == digit_pairs("dev", seed=0).labels.tolist()
    assert first.a != digit_pairs("dev", seed=1).a


def test_n_pairs_small_and_large_stay_balanced():
    small = digit_pairs("dev", n_pairs=40)
    assert len(small) == 40 and small.labels.sum() == 20
    n_dev = len(digit_pairs("dev")) // 2
    large = digit_pairs("dev", n_pairs=6 * n_dev)
    assert len(large) == 6 * n_dev and large.labels.mean() == 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "val"}, "split must be"),
        ({"n_pairs": 0}, "n_pairs"),
        ({"dev_fraction": 0.5, "test_fraction": 0.5}, "sum below 1"),
        ({"split": "dev", "dev_fraction": 0.0}, "empty"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        digit_pairs(**kwargs)
