"""Approximate search with faiss (optional extra ``ann``: ``pip install 'textsiam[ann]'``), for corpora of millions.

``hnsw`` (a graph; no training, good recall, more memory) or ``ivf`` (k-means cells; trained on a sample, ``nprobe``
cells searched per query). Cosine is inner product over normalised rows, dot is inner product, euclidean is L2
(faiss returns squared distances: the scores are turned back into -||q - c||). The faiss file ``faiss.index`` sits
next to the exact index files, whose ``embeddings.npy`` stays the source of truth.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.atomic import atomic_write
from textsiam.errors import ConfigError

ANN_KINDS = ("hnsw", "ivf")
ANN_FILE = "faiss.index"
_METRICS = {"cosine": "METRIC_INNER_PRODUCT", "dot": "METRIC_INNER_PRODUCT", "euclidean": "METRIC_L2"}


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("approximate search needs faiss: pip install 'textsiam[ann]' (faiss-cpu)") from None
    return faiss


def _rows(similarity: str, x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if similarity == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def build_faiss(
    embeddings: np.ndarray,
    similarity: str,
    kind: str = "hnsw",
    *,
    m: int = 32,
    ef_construction: int = 80,
    ef_search: int = 64,
    nlist: int | None = None,
    nprobe: int = 16,
    seed: int = 0,
    chunk: int = 65536,
) -> Any:
    """A faiss index over the rows of ``embeddings`` (added in chunks, so a memory map stays a memory map)."""
    faiss = _faiss()
    if similarity not in _METRICS:
        raise ConfigError(f"faiss search supports {sorted(_METRICS)}; this model compares by {similarity!r}: use exact")
    if kind not in ANN_KINDS:
        raise ConfigError(f"unknown approximate index {kind!r}; choose one of {', '.join(ANN_KINDS)}")
    n, dim = embeddings.shape
    metric = getattr(faiss, _METRICS[similarity])
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, m, metric)
        index.hnsw.efConstruction, index.hnsw.efSearch = ef_construction, ef_search
    else:
        nlist = nlist or max(1, min(n // 39, int(4 * math.sqrt(n))))  # faiss wants >= 39 training rows per cell
        index = faiss.IndexIVFFlat(faiss.IndexFlat(dim, metric), dim, nlist, metric)
        sample = np.random.default_rng(seed).choice(n, size=min(n, 64 * nlist), replace=False)
        index.train(_rows(similarity, embeddings[np.sort(sample)]))
        index.nprobe = nprobe
    for start in range(0, n, chunk):
        index.add(_rows(similarity, embeddings[start : start + chunk]))
    return index


def faiss_search(index: Any, similarity: str, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, positions)`` like exact search; a position of -1 means fewer than k rows were found."""
    scores, positions = index.search(_rows(similarity, queries), min(k, index.ntotal))
    if similarity == "euclidean":
        scores = -np.sqrt(np.maximum(scores, 0.0))
    return scores, positions


def save_faiss(index: Any, folder: str | Path) -> Path:
    faiss = _faiss()
    return atomic_write(Path(folder) / ANN_FILE, lambda tmp: faiss.write_index(index, tmp))


def load_faiss(folder: str | Path) -> Any:
    return _faiss().read_index(str(Path(folder) / ANN_FILE))
