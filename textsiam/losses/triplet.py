"""Triplet margin loss over a labelled batch, with batch-hard and batch-semi-hard mining."""

from __future__ import annotations

from typing import ClassVar

import torch

from textsiam.errors import DataError
from textsiam.layers.similarity import build_similarity
from textsiam.losses.base import METRIC_DISTANCES, POSITIVE, PairLoss, check_pair_inputs
from textsiam.losses.multiple_negatives import flat_negatives
from textsiam.params import Choice
from textsiam.registry import LOSSES

MININGS = ("all", "batch-hard", "batch-semi-hard")


@LOSSES.register("triplet")
class TripletLoss(PairLoss):
    """Triplet margin loss: an anchor must be closer to its positive than to a negative by a margin.

    With ``d`` the distance of the model's similarity (``distance``: 1 - cos, or the L2 / L1 norm)::

        L = mean over triplets (a, p, n) of max(0, d(a, p) - d(a, n) + margin)

    The triplets come from a labelled batch: the embeddings of both sides ``x = [u; v (; negatives)]`` get a class
    each (pair i's two sides share class i when it is labelled similar, label >= 0.5; the second side of a
    dissimilar pair and every extra negative get a class of their own), so every other item of the batch is a
    negative of an anchor. ``mining`` chooses the triplets:

    - ``all``: every valid (a, p, n), averaged (the batch-all loss);
    - ``batch-hard``: per anchor, its farthest positive and its closest negative (Hermans et al. 2017);
    - ``batch-semi-hard``: per (a, p), the closest negative farther than the positive, ``d(a, n) > d(a, p)``, or the
      farthest negative when none is (Schroff et al. 2015, as in FaceNet's online selection).

    Papers: F. Schroff, D. Kalenichenko, J. Philbin, "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", 2015; A. Hermans, L. Beyer, B. Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", 2017.

    Args:
        margin: the margin (> 0), in units of ``distance``.
        distance: "cosine", "euclidean" or "manhattan" (match the model's similarity).
        mining: "all", "batch-hard" or "batch-semi-hard".
    """

    takes = "embeddings"
    in_batch = True
    takes_negatives: ClassVar[bool] = True
    params = {"margin": POSITIVE, "distance": Choice(*METRIC_DISTANCES), "mining": Choice(*MININGS)}

    def __init__(self, margin: float = 0.5, distance: str = "cosine", mining: str = "batch-hard") -> None:
        super().__init__()
        self.set_params(margin=margin, distance=distance, mining=mining)
        self.sim = build_similarity(distance)

    def forward(
        self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor, negatives: torch.Tensor | None = None
    ) -> torch.Tensor:
        u, v, labels = check_pair_inputs(u, v, labels)
        x, classes = labelled_batch(u, v, labels, negatives)
        return triplet_from_classes(x, classes, self.margin, self.mining, self.pairwise_distance)

    def pairwise_distance(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, n)`` distances between the rows of ``x`` (cosine: 1 - cos; Lp: the norm of the difference)."""
        similarity = self.sim.pairwise(x, x)
        return 1.0 - similarity if self.distance == "cosine" else -similarity


def labelled_batch(
    u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor, negatives: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack a batch of pairs into ``(items, dim)`` embeddings and ``(items,)`` integer classes (see TripletLoss)."""
    n = u.shape[0]
    own = torch.arange(n, device=u.device)
    second = torch.where(labels >= 0.5, own, own + n)  # a dissimilar pair's second side is a class of its own
    parts, classes = [u, v], [own, second]
    if negatives is not None:
        flat = flat_negatives(negatives, u)
        parts.append(flat)
        classes.append(torch.arange(2 * n, 2 * n + flat.shape[0], device=u.device))
    return torch.cat(parts), torch.cat(classes)


def triplet_from_classes(x: torch.Tensor, classes: torch.Tensor, margin: float, mining: str, pairwise) -> torch.Tensor:
    """The triplet loss of ``(items, dim)`` embeddings with ``(items,)`` classes; ``pairwise(x)`` gives distances."""
    d = pairwise(x)  # (items, items)
    same = classes[:, None] == classes[None, :]
    eye = torch.eye(len(classes), dtype=torch.bool, device=x.device)
    pos, neg = same & ~eye, ~same  # (items, items): valid positives / negatives of each anchor row
    anchors = pos.any(1) & neg.any(1)
    if not bool(anchors.any()):
        raise DataError(
            "the triplet loss found no anchor with both a positive and a negative in this batch; it needs pairs "
            "labelled similar (label >= 0.5) and at least two pairs (or extra negatives) per batch"
        )
    big = torch.finfo(d.dtype).max
    if mining == "batch-hard":
        hardest_pos = d.masked_fill(~pos, -big).amax(1)
        hardest_neg = d.masked_fill(~neg, big).amin(1)
        return torch.relu(hardest_pos - hardest_neg + margin)[anchors].mean()
    # (a, p, n) cube: d(a, p) - d(a, n)
    gap = d[:, :, None] - d[:, None, :]
    if mining == "all":
        valid = pos[:, :, None] & neg[:, None, :]
        return torch.relu(gap + margin)[valid].mean()
    # semi-hard: the closest negative with d(a, n) > d(a, p); when none, the farthest negative
    farther = neg[:, None, :] & (d[:, None, :] > d[:, :, None])  # (a, p, n)
    closest_farther = d[:, None, :].expand_as(farther).masked_fill(~farther, big).amin(2)
    farthest = d.masked_fill(~neg, -big).amax(1)[:, None].expand_as(closest_farther)
    chosen = torch.where(farther.any(2), closest_farther, farthest)  # (a, p)
    valid = pos & anchors[:, None]
    return torch.relu(d - chosen + margin)[valid].mean()
