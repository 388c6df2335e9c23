"""In-batch negatives ranking loss (InfoNCE)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from textsiam.errors import DataError
from textsiam.layers.similarity import build_similarity
from textsiam.losses.base import POSITIVE, PairLoss, check_pair_inputs
from textsiam.params import Bool, Interval
from textsiam.registry import LOSSES


@LOSSES.register("multiple-negatives")
class MultipleNegativesRankingLoss(PairLoss):
    """In-batch negatives: each u_i must pick its own v_i out of all the v in the batch (InfoNCE).

    With ``S[i, j] = s * cos(u_i, v_j)`` and ``A`` the anchor rows (label >= min_label)::

        L = mean over i in A of  -log( exp(S[i, i]) / sum over j of exp(S[i, j]) )

    i.e. cross-entropy over the rows of ``S`` with the diagonal as target. Rows labelled dissimilar are not
    anchors, but their ``v`` still serve as negatives. With ``symmetric=True`` the loss is the mean of this
    u -> v direction and the v -> u direction (columns of ``S`` against all ``u``), as in CLIP. The scale
    ``s = 1 / temperature``: the default 20 is a temperature of 0.05.

    Papers: M. Henderson et al., "Efficient Natural Language Response Suggestion for Smart Reply", 2017;
    A. van den Oord, Y. Li, O. Vinyals, "Representation Learning with Contrastive Predictive Coding" (InfoNCE),
    2018; A. Radford et al., "Learning Transferable Visual Models From Natural Language Supervision" (CLIP,
    symmetric form), 2021.

    Args:
        scale: ``s`` (> 0), the inverse temperature.
        symmetric: also score the v -> u direction and average the two.
        min_label: rows with ``label >= min_label`` are anchors (0.5 by default; e.g. 0.8 keeps only STS pairs
            scored 4 or more when combined with a graded loss).
        skip_empty: return a zero loss, instead of an error, for a batch with no anchor (useful inside a
            ``combined`` loss on graded data, where some batches hold no close pair).
    """

    takes = "embeddings"
    in_batch = True
    params = {
        "scale": POSITIVE,
        "symmetric": Bool(),
        "min_label": Interval(float, 0, 1, closed="right"),
        "skip_empty": Bool(),
    }

    def __init__(
        self, scale: float = 20.0, symmetric: bool = False, min_label: float = 0.5, skip_empty: bool = False
    ) -> None:
        super().__init__()
        self.set_params(scale=scale, symmetric=symmetric, min_label=min_label, skip_empty=skip_empty)
        self.sim = build_similarity("cosine")

    def forward(self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        u, v, labels = check_pair_inputs(u, v, labels)
        anchors = torch.nonzero(labels >= self.min_label).squeeze(1)  # (n_anchors,)
        if anchors.numel() == 0 and self.skip_empty:
            return (u * 0).sum() + (v * 0).sum()  # zero, but still attached to the graph
        if anchors.numel() == 0:
            raise DataError(
                f"multiple-negatives needs at least one positive pair (label >= {self.min_label}) per batch, got "
                "labels "
                f"{labels[:8].tolist()}{' ...' if labels.numel() > 8 else ''}; feed it positive pairs (negatives "
                "come from the other rows) or choose a pair loss such as 'contrastive'"
            )
        scores = self.scale * self.sim.pairwise(u, v)  # (batch, batch): [i, j] = s * cos(u_i, v_j)
        loss = F.cross_entropy(scores[anchors], anchors)
        if self.symmetric:
            loss = 0.5 * (loss + F.cross_entropy(scores.T[anchors], anchors))
        return loss
