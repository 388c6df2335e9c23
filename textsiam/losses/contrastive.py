"""Contrastive margin loss (Hadsell, Chopra & LeCun 2006)."""

from __future__ import annotations

import torch

from textsiam.losses.base import POSITIVE, DistanceLoss
from textsiam.registry import LOSSES


def contrastive_terms(d: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Per-pair contrastive loss ``y d^2 / 2 + (1 - y) max(0, m - d)^2 / 2``; shape of ``d``."""
    return 0.5 * labels * d.pow(2) + 0.5 * (1.0 - labels) * torch.relu(margin - d).pow(2)


@LOSSES.register("contrastive")
class ContrastiveLoss(DistanceLoss):
    """Contrastive loss: pull similar pairs together, push dissimilar pairs apart up to a margin.

    For a pair at distance ``d`` with label ``y`` (1 = similar)::

        L = mean over the batch of  y * d^2 / 2  +  (1 - y) * max(0, m - d)^2 / 2

    Dissimilar pairs already farther apart than the margin ``m`` cost nothing, so the model is not asked to push
    every unrelated pair to infinity. A graded label in (0, 1) mixes both terms.

    Paper: R. Hadsell, S. Chopra, Y. LeCun, "Dimensionality Reduction by Learning an Invariant Mapping" (DrLIM),
    CVPR 2006.

    Args:
        margin: the distance beyond which a dissimilar pair costs nothing (> 0). Pick it on the scale of the
            distance: cosine distance lies in [0, 2].
        distance: "euclidean" (the paper's), "cosine" (1 - cos) or "manhattan" (L1), from
            ``textsiam.layers.similarity``.
    """

    params = DistanceLoss.params | {"margin": POSITIVE}

    def __init__(self, margin: float = 1.0, distance: str = "euclidean") -> None:
        super().__init__(distance)
        self.set_params(margin=margin)

    def from_distance(self, d: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return contrastive_terms(d, labels, self.margin).mean()
