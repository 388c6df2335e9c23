"""Similarity functions between two batches of embeddings.

Higher score always means more similar. Distances are negated here, once, so that threshold and ranking code
everywhere else has one direction. Each similarity also exposes the matching non-negative ``distance`` (used by
margin losses) and an all-pairs ``pairwise`` form (used by in-batch losses and retrieval).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from textsiam.params import Constraint
from textsiam.registry import SIMILARITIES


class Similarity(nn.Module):
    """Base class: ``forward(u, v)`` -> ``(batch,)`` scores, higher = more similar."""

    params: ClassVar[dict[str, Constraint]] = {}  # the similarities take no arguments

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # (batch, dim) x2 -> (batch,)
        raise NotImplementedError

    def pairwise(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # (n, dim), (m, dim) -> (n, m)
        raise NotImplementedError

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # (batch,) >= 0
        return -self.forward(u, v)

    def get_config(self) -> dict:
        return {}


@SIMILARITIES.register("cosine")
class CosineSimilarity(Similarity):
    """Cosine similarity in [-1, 1]; its distance is 1 - cos, in [0, 2]."""

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(u, v, dim=-1)

    def pairwise(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.normalize(u, dim=-1) @ F.normalize(v, dim=-1).T

    def distance(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return 1.0 - self.forward(u, v)


def _safe_norm(x: torch.Tensor, p: int) -> torch.Tensor:
    # The gradient of ||x||_2 at x = 0 is NaN; a tiny epsilon keeps identical pairs trainable.
    if p == 1:
        return x.abs().sum(-1)
    return torch.sqrt((x * x).sum(-1) + 1e-12)


class NegativeDistance(Similarity):
    """Base of the negated Lp distances: -||u - v||_p; its distance is ||u - v||_p."""

    p: int

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return -_safe_norm(u - v, self.p)

    def pairwise(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return -_safe_norm(u[:, None, :] - v[None, :, :], self.p)  # (n, m, dim) -> (n, m)


@SIMILARITIES.register("euclidean")
class NegativeEuclidean(NegativeDistance):
    """Negative L2 distance: -||u - v||_2 (0 for identical inputs); its distance is ||u - v||_2."""

    p = 2


@SIMILARITIES.register("manhattan")
class NegativeManhattan(NegativeDistance):
    """Negative L1 distance: -||u - v||_1; its distance is ||u - v||_1 (the energy of Chopra et al. 2005)."""

    p = 1


@SIMILARITIES.register("dot")
class DotProduct(Similarity):
    """Dot product u . v (unbounded); its 'distance' is -u . v, which is not a metric: avoid it with margin losses."""

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return (u * v).sum(-1)

    def pairwise(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return u @ v.T


def build_similarity(name: str | Similarity) -> Similarity:
    """Return a similarity module from a registry name (or pass one through)."""
    return name if isinstance(name, Similarity) else SIMILARITIES.build(name)
