"""Mean squared error between a head's probability and graded labels in [0, 1] (a cross-encoder's regression)."""

from __future__ import annotations

import torch

from textsiam.losses.base import PairLoss, check_score_inputs
from textsiam.registry import LOSSES


@LOSSES.register("mse")
class MSELoss(PairLoss):
    """Squared error between ``sigmoid(logit)`` and the label, for graded labels scaled to [0, 1] (STS scores / 5)::

        L = mean over the batch of  (sigmoid(z) - y) ** 2

    The logit goes through the sigmoid so that the model's score lives on the labels' scale ([0, 1]) and a
    prediction can never leave it; the gradient vanishes for confident wrong logits, so ``bce`` (soft targets) is the
    other choice for graded labels.

    Reference: STS-B as a regression on the first token of the pair read together, Devlin et al., "BERT: Pre-training
    of Deep Bidirectional Transformers for Language Understanding", NAACL 2019.
    """

    takes = "scores"

    def forward(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        scores, labels = check_score_inputs(scores, labels)
        return torch.mean((torch.sigmoid(scores) - labels) ** 2)
