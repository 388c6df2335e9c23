"""Exponential energy loss of Chopra, Hadsell & LeCun (2005)."""

from __future__ import annotations

import torch

from textsiam.losses.base import POSITIVE, DistanceLoss
from textsiam.registry import LOSSES

_DECAY = 2.77  # the paper's constant: at E = Q the impostor term has fallen to exp(-2.77), about 1/16 of its peak


@LOSSES.register("chopra-exp")
class ChopraExpLoss(DistanceLoss):
    """Chopra-Hadsell-LeCun exponential loss: quadratic pull for genuine pairs, exponential push for impostors.

    With the energy ``E`` = distance between the two embeddings, ``Y = 1 - label`` (1 for a dissimilar pair, the
    paper's convention) and the constant ``Q``::

        L = mean over the batch of  (1 - Y) * (2 / Q) * E^2  +  Y * 2Q * exp(-2.77 * E / Q)

    The genuine term grows with the energy of a similar pair; the impostor term decays with the energy of a
    dissimilar pair, so impostors stop mattering once they are a few ``Q / 2.77`` apart.

    Paper: S. Chopra, R. Hadsell, Y. LeCun, "Learning a Similarity Metric Discriminatively, with Application to
    Face Verification", CVPR 2005.

    Args:
        q: the constant ``Q``, the paper's upper bound of the energy (> 0). It is a length scale: the push on an
            impostor pair has fallen to about 1/16 at ``E = q``. The default 10.0 is a round value on the scale of
            the L1 distance between small, roughly unit-scale embeddings; set it near the largest energy you expect
            (e.g. ``q=2.0`` with ``distance="cosine"``, whose distance never exceeds 2).
        distance: the energy: "manhattan" (L1, the paper's, default), "euclidean" or "cosine".
    """

    params = DistanceLoss.params | {"q": POSITIVE}

    def __init__(self, q: float = 10.0, distance: str = "manhattan") -> None:
        super().__init__(distance)
        self.set_params(q=q)

    def from_distance(self, energy: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        genuine = (2.0 / self.q) * energy.pow(2)
        impostor = 2.0 * self.q * torch.exp(-_DECAY * energy / self.q)
        return (labels * genuine + (1.0 - labels) * impostor).mean()
