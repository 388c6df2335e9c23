"""Symmetric InfoNCE with a learnable temperature (CLIP)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from textsiam.losses.base import POSITIVE, PairLoss, check_pair_inputs
from textsiam.params import Bool
from textsiam.registry import LOSSES


@LOSSES.register("infonce")
class SymmetricInfoNCELoss(PairLoss):
    """Symmetric in-batch InfoNCE with a learnable temperature: u_i must pick v_i among all v, and v_i pick u_i.

    With ``S[i, j] = exp(t) * cos(u_i, v_j)`` over the batch's matching pairs (label >= 0.5) and ``t`` a learned
    log-scale (clamped to at most log(max_scale))::

        L = ( CE(S, diag) + CE(S^T, diag) ) / 2

    i.e. the mean of the u -> v and v -> u cross-entropies with the diagonal as target. Rows labelled 0 are
    ignored: the negatives of a pair are the other pairs of the batch. Items that occur twice in a batch (two
    captions of one image) would be false negatives: textsiam's caption data feeds one caption per image per epoch,
    and a caller that batches several captions of an image passes ``groups`` (one id per pair, e.g. the image's
    index): pairs of one group are then positives of each other, not negatives. Row ``i`` of either direction
    becomes ``-log( sum_{j in group(i)} exp(S[i, j]) / sum_j exp(S[i, j]) )``, which is the plain loss when every
    group has one pair.

    Paper: A. Radford et al., "Learning Transferable Visual Models From Natural Language Supervision" (CLIP), 2021;
    A. van den Oord, Y. Li, O. Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018.

    Args:
        temperature: the initial temperature (CLIP: 0.07, i.e. scale 1 / 0.07 = 14.3).
        learn_temperature: learn ``t`` with the model (else fixed at the initial value).
        max_scale: upper bound of ``exp(t)`` (CLIP: 100), which keeps training stable.
    """

    takes = "embeddings"
    in_batch = True
    takes_groups = True
    params = {"temperature": POSITIVE, "learn_temperature": Bool(), "max_scale": POSITIVE}

    def __init__(self, temperature: float = 0.07, learn_temperature: bool = True, max_scale: float = 100.0) -> None:
        super().__init__()
        self.set_params(temperature=temperature, learn_temperature=learn_temperature, max_scale=max_scale)
        log_scale = torch.tensor(math.log(1.0 / self.temperature))
        self.log_scale_ = nn.Parameter(log_scale, requires_grad=learn_temperature)

    @property
    def scale(self) -> float:
        """The current inverse temperature ``exp(t)``."""
        return float(self.log_scale_.detach().clamp(max=math.log(self.max_scale)).exp())

    def forward(
        self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor | None = None
    ) -> torch.Tensor:
        u, v, labels = check_pair_inputs(u, v, labels)
        if groups is not None and groups.shape != labels.shape:
            raise ValueError(f"groups {tuple(groups.shape)} need one id per pair ({labels.shape[0]})")
        keep = labels >= 0.5
        if not bool(keep.any()):
            raise ValueError("infonce needs at least one matching pair (label 1) per batch; negatives come in-batch")
        u, v = F.normalize(u[keep], dim=-1), F.normalize(v[keep], dim=-1)
        scale = self.log_scale_.clamp(max=math.log(self.max_scale)).exp()
        logits = scale * (u @ v.T)  # (n, n)
        if groups is not None:
            same = groups[keep][:, None] == groups[keep][None, :]  # (n, n): the positives of each row
            return 0.5 * (_grouped_ce(logits, same) + _grouped_ce(logits.T, same.T))
        target = torch.arange(logits.shape[0], device=logits.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _grouped_ce(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``-log`` (the softmax mass on the row's positives)."""
    return (torch.logsumexp(logits, dim=1) - torch.logsumexp(logits.masked_fill(~positive, -math.inf), dim=1)).mean()
