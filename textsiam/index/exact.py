"""Exact top-k by a model's similarity, in chunks: no ``queries x corpus`` score matrix is ever held in memory.

The corpus is read once, ``corpus_chunk`` rows at a time (from a memory map when it is a ``.npy`` index); each
chunk is scored against ``query_chunk`` queries at a time and merged into a running ``(queries, k)`` top-k. Peak
extra memory is ``query_chunk x corpus_chunk`` floats (32 MB with the defaults).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from textsiam.layers.similarity import build_similarity


def pairwise_scores(similarity: str, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``(nq, dim), (nc, dim) -> (nq, nc)`` scores, higher = more similar; cosine expects normalised rows."""
    if similarity in ("cosine", "dot"):
        return q @ c.T
    if similarity == "euclidean":
        return -torch.cdist(q, c, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")  # exact, not |q|^2 - 2qc + |c|^2
    if similarity == "manhattan":
        return -torch.cdist(q, c, p=1.0)
    return build_similarity(similarity).pairwise(q, c)  # a similarity registered elsewhere: its own pairwise form


def _prepare(similarity: str, x: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(x, np.ndarray):  # an in-memory float32 array is used as is; a memmap (read-only) is copied
        shared = x.dtype == np.float32 and x.flags.writeable and x.flags.c_contiguous
        x = torch.from_numpy(x if shared else np.array(x, dtype=np.float32))
    t = x.float()
    return F.normalize(t, dim=-1) if similarity == "cosine" else t


@torch.inference_mode()
def exact_top_k(
    queries: np.ndarray | torch.Tensor,
    corpus: np.ndarray | torch.Tensor,
    similarity: str,
    k: int,
    *,
    query_chunk: int = 512,
    corpus_chunk: int = 16384,
) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, positions)``, both ``(n_queries, min(k, n_corpus))``, best first, over all corpus rows."""
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k!r}")
    q = _prepare(similarity, queries)  # (nq, dim)
    k = min(k, int(corpus.shape[0]))
    best_s = torch.full((q.shape[0], k), -torch.inf)
    best_i = torch.zeros((q.shape[0], k), dtype=torch.long)
    for c0 in range(0, int(corpus.shape[0]), corpus_chunk):
        c = _prepare(similarity, corpus[c0 : c0 + corpus_chunk])  # (chunk, dim)
        for q0 in range(0, q.shape[0], query_chunk):
            rows = slice(q0, q0 + query_chunk)
            s = pairwise_scores(similarity, q[rows], c)  # (query_chunk, chunk)
            top = s.topk(min(k, s.shape[1]), dim=1)
            merged_s = torch.cat([best_s[rows], top.values], dim=1)
            merged_i = torch.cat([best_i[rows], top.indices + c0], dim=1)
            keep = merged_s.topk(k, dim=1)
            best_s[rows], best_i[rows] = keep.values, merged_i.gather(1, keep.indices)
    return best_s.numpy(), best_i.numpy()
