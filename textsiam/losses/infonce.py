"""Symmetric InfoNCE with a learnable temperature (CLIP)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from textsiam.losses.base import POSITIVE, PairLoss, check_pair_inputs
from textsiam.params import Bool, Interval
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

    ``hard_negative_beta`` (beta >= 0) weights the negatives of each row by how hard they are: negative ``j``
    of row ``i`` counts ``w_ij = n_i exp(beta S[i, j]) / sum_k exp(beta S[i, k])`` times in the denominator (``k``
    over the row's ``n_i`` negatives; the weights average 1), so the closest negatives push hardest::

        L_i = -log( P_i / (P_i + sum_j w_ij exp(S[i, j])) ),   P_i = sum_{p in group(i)} exp(S[i, p])

    beta 0 is the plain loss; a large beta approaches the hardest negative alone (VSE++'s max violation, in a
    softmax). The weights are importance weights: no gradient flows through them (a design choice; the paper's
    estimator differentiates them too). Paper: J. Robinson, C.-Y. Chuang, S. Sra, S. Jegelka, "Contrastive
    Learning with Hard Negative Samples", ICLR 2021; F. Faghri et al., "VSE++", BMVC 2018 (max violation).

    Paper: A. Radford et al., "Learning Transferable Visual Models From Natural Language Supervision" (CLIP), 2021;
    A. van den Oord, Y. Li, O. Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018.

    Args:
        temperature: the initial temperature (CLIP: 0.07, i.e. scale 1 / 0.07 = 14.3).
        learn_temperature: learn ``t`` with the model (else fixed at the initial value).
        max_scale: upper bound of ``exp(t)`` (CLIP: 100), which keeps training stable.
        hard_negative_beta: how much harder negatives weigh (0: the plain loss; 0.5-2 are usual values).
    """

    takes = "embeddings"
    in_batch = True
    takes_groups = True
    params = {
        "temperature": POSITIVE,
        "learn_temperature": Bool(),
        "max_scale": POSITIVE,
        "hard_negative_beta": Interval(float, 0.0),
    }

    def __init__(
        self,
        temperature: float = 0.07,
        learn_temperature: bool = True,
        max_scale: float = 100.0,
        hard_negative_beta: float = 0.0,
    ) -> None:
        super().__init__()
        self.set_params(
            temperature=temperature,
            learn_temperature=learn_temperature,
            max_scale=max_scale,
            hard_negative_beta=hard_negative_beta,
        )
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
        if groups is not None or self.hard_negative_beta > 0:
            if groups is None:
                same = torch.eye(logits.shape[0], dtype=torch.bool, device=logits.device)
            else:
                same = groups[keep][:, None] == groups[keep][None, :]  # (n, n): the positives of each row
            beta = self.hard_negative_beta
            return 0.5 * (_grouped_ce(logits, same, beta) + _grouped_ce(logits.T, same.T, beta))
        target = torch.arange(logits.shape[0], device=logits.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _grouped_ce(logits: torch.Tensor, positive: torch.Tensor, beta: float = 0.0) -> torch.Tensor:
    """Mean over rows of ``-log`` (the softmax mass on the row's positives), the negatives weighted by ``beta``."""
    own = torch.logsumexp(logits.masked_fill(~positive, -math.inf), dim=1)
    if beta == 0:
        return (torch.logsumexp(logits, dim=1) - own).mean()
    with torch.no_grad():  # log w_ij = log n_i + beta S_ij - logsumexp_k(beta S_ik), over the row's negatives
        hard = (beta * logits).masked_fill(positive, -math.inf)
        count = (~positive).sum(dim=1, keepdim=True).clamp(min=1).to(logits.dtype)
        log_w = count.log() + hard - torch.logsumexp(hard, dim=1, keepdim=True)
    # a row without negatives gets -inf here, and its term is 0
    negatives = torch.logsumexp((logits + log_w).masked_fill(positive, -math.inf), dim=1)
    return (torch.logaddexp(own, negatives) - own).mean()
