"""Batch samplers. :func:`length_grouped_batches` puts texts of similar length together so padding is small."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHUNK_BATCHES = 50
"""Batches per sorting chunk: large enough to find similar lengths, small enough to keep batches varied."""


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, shuffle: bool = True) -> list[list[int]]:
    """Split ``range(len(lengths))`` into batches of similar length; every index appears exactly once.

    With ``shuffle``: shuffle the indices (seeded), sort each chunk of ``CHUNK_BATCHES * batch_size`` indices by
    length, cut the chunks into batches, then shuffle the batch order. Same seed, same batches. Without
    ``shuffle`` (evaluation): sort all indices by length (stable) and cut in order; ``seed`` is unused.
    Only the final batch can be smaller than ``batch_size``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    lens = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if not shuffle:
        order = np.argsort(lens, kind="stable")
        return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lens))
    chunk = CHUNK_BATCHES * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lens[part], kind="stable")]
        batches.extend(part[i : i + batch_size].tolist() for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]
