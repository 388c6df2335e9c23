"""CoSENT ranking loss (Su 2022)."""

from __future__ import annotations

import torch

from textsiam.layers.similarity import build_similarity
from textsiam.losses.base import POSITIVE, PairLoss, check_pair_inputs
from textsiam.registry import LOSSES


@LOSSES.register("cosent")
class CoSENTLoss(PairLoss):
    """CoSENT: every pair with a higher label should have a higher cosine than every pair with a lower label.

    With ``c_i = cos(u_i, v_i)`` and scale ``s``::

        L = log(1 + sum over (i, j) with y_i > y_j of exp(s * (c_j - c_i)))

    Only the order of the labels matters (the loss is invariant to any increasing transform of them), so graded
    and binary labels both work. Computed as a logsumexp over the terms plus a zero term, which is exact and
    cannot overflow. A batch whose labels are all equal has no ordered pair and costs 0.

    Paper: J. Su, "CoSENT: a more efficient sentence vector scheme than Sentence-BERT", 2022 (blog, kexue.fm/8847).

    Args:
        scale: ``s`` (> 0), the inverse temperature; the default 20 is the paper's.
    """

    takes = "embeddings"
    in_batch = True

    params = {"scale": POSITIVE}

    def __init__(self, scale: float = 20.0) -> None:
        super().__init__()
        self.set_params(scale=scale)
        self.sim = build_similarity("cosine")

    def forward(self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        u, v, labels = check_pair_inputs(u, v, labels)
        cos = self.sim(u, v)  # (batch,)
        diff = self.scale * (cos[None, :] - cos[:, None])  # (batch, batch): [i, j] = s * (c_j - c_i)
        ordered = labels[:, None] > labels[None, :]  # (batch, batch): y_i > y_j
        terms = diff.masked_fill(~ordered, float("-inf")).flatten()
        return torch.logsumexp(torch.cat([terms.new_zeros(1), terms]), dim=0)
