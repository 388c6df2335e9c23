from __future__ import annotations

import numpy as np
import pytest

from textsiam.errors import ConfigError
from textsiam.index import exact_top_k
from textsiam.index.ann import build_faiss, faiss_search, load_faiss, save_faiss

faiss = pytest.importorskip("faiss", reason="faiss-cpu not installed (pip install 'textsiam[ann]')")


def _clustered(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    return (centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
@pytest.mark.parametrize("similarity", ["cosine", "dot", "euclidean"])
def test_approximate_search_recalls_the_exact_top_10(kind, similarity, tmp_path):
    corpus, queries = _clustered(3000), _clustered(50, seed=1)
    ann = build_faiss(corpus, similarity, kind)
    save_faiss(ann, tmp_path)
    scores, pos = faiss_search(load_faiss(tmp_path), similarity, queries, 10)
    exact_scores, exact_pos = exact_top_k(queries, corpus, similarity, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(pos, exact_pos)])
    assert recall >= 0.9
    hit = pos == exact_pos  # where both found the same row, they report the same score
    # faiss scores the float32 vectors it stores (IVFFlat / HNSWFlat: no quantisation) with its own BLAS, and euclidean
    # as |q|^2 + |x|^2 - 2 q.x, which cancels: near neighbours are ~11 apart (squared) against |q|^2 + |x|^2 ~ 36
    # (dim 16), so under 1 of float32's 7 digits goes; 1e-3 leaves >= 100x over that on any CPU's kernels
    np.testing.assert_allclose(scores[hit], exact_scores[hit], rtol=1e-3, atol=1e-3)


def test_manhattan_is_refused_for_approximate_search():
    with pytest.raises(ConfigError, match="exact"):
        build_faiss(_clustered(100), "manhattan")
