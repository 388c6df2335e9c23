"""Contrastive loss restricted to the hard pairs of a batch."""

from __future__ import annotations

import torch

from textsiam.losses.base import POSITIVE, DistanceLoss
from textsiam.losses.contrastive import contrastive_terms
from textsiam.registry import LOSSES


def hard_pair_mask(d: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Which pairs are hard: positives farther than the closest negative, negatives closer than the farthest positive.

    With no negative in the batch every positive counts, and with no positive every negative counts, so a
    one-class batch still trains. Computed without a host sync.
    """
    d = d.detach()
    negative = ~positive
    closest_negative = d.masked_fill(positive, float("inf")).amin()  # inf when there is no negative
    farthest_positive = d.masked_fill(negative, float("-inf")).amax()  # -inf when there is no positive
    hard_pos = positive & ((d > closest_negative) | ~negative.any())
    hard_neg = negative & ((d < farthest_positive) | ~positive.any())
    return hard_pos | hard_neg


@LOSSES.register("online-contrastive")
class OnlineContrastiveLoss(DistanceLoss):
    """Contrastive loss on the hard pairs of the batch only (online hard-pair mining).

    Labels are thresholded at 0.5 (``y = 1`` if label >= 0.5). A positive pair is hard when its distance exceeds
    the smallest negative distance in the batch; a negative pair is hard when its distance is below the largest
    positive distance. Over the set ``H`` of hard pairs::

        L = (1 / |H|) * sum over (d, y) in H of  y * d^2 / 2  +  (1 - y) * max(0, m - d)^2 / 2

    i.e. the mean contrastive loss of Hadsell et al. over ``H``, on the same scale as ``contrastive``. A batch
    with only one class uses all its pairs; a batch whose classes are already separated has no hard pair and
    costs 0 (with a zero gradient, not NaN). Easy pairs are ignored, which focuses training on the pairs a
    threshold would get wrong.

    Papers: R. Hadsell, S. Chopra, Y. LeCun, "Dimensionality Reduction by Learning an Invariant Mapping", CVPR
    2006 (the loss); the hard-pair selection is the recipe of sentence-transformers' OnlineContrastiveLoss (Reimers
    & Gurevych, "Sentence-BERT", EMNLP 2019, library).

    Args:
        margin: distance beyond which a dissimilar pair costs nothing (> 0); default 0.5 suits cosine distance.
        distance: "cosine" (1 - cos, default), "euclidean" or "manhattan".
    """

    in_batch = True

    params = DistanceLoss.params | {"margin": POSITIVE}

    def __init__(self, margin: float = 0.5, distance: str = "cosine") -> None:
        super().__init__(distance)
        self.set_params(margin=margin)

    def from_distance(self, d: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        positive = labels >= 0.5
        hard = hard_pair_mask(d, positive).to(d.dtype)
        terms = contrastive_terms(d, positive.to(d.dtype), self.margin)
        return (terms * hard).sum() / hard.sum().clamp(min=1.0)
