"""Binary cross-entropy on the logits of a learned pair-scoring head."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from textsiam.losses.base import POSITIVE, PairLoss, check_score_inputs
from textsiam.params import Optional
from textsiam.registry import LOSSES


@LOSSES.register("bce")
class BCEWithLogitsLoss(PairLoss):
    """Binary cross-entropy between a head's logits and labels in [0, 1] (for pair classifiers, not embeddings).

    With logit ``z``, ``p = sigmoid(z)`` and positive-class weight ``w`` (1 when unset)::

        L = mean over the batch of  -( w * y * log p  +  (1 - y) * log(1 - p) )

    computed from the logits in the numerically stable form. Graded labels act as soft targets. Use ``pos_weight``
    = (#negatives / #positives) to balance a skewed training set.

    Reference: the standard logistic-regression log-loss; the learned head over pair features
    (|u - v|, u * v, ...) follows the siamese classifier of Reimers & Gurevych, "Sentence-BERT", EMNLP 2019.

    Args:
        pos_weight: weight ``w`` (> 0) of the positive term, or None for 1.
    """

    takes = "scores"

    params = {"pos_weight": Optional(POSITIVE)}

    def __init__(self, pos_weight: float | None = None) -> None:
        super().__init__()
        self.set_params(pos_weight=pos_weight)

    def forward(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        scores, labels = check_score_inputs(scores, labels)
        weight = None if self.pos_weight is None else scores.new_tensor(self.pos_weight)
        return F.binary_cross_entropy_with_logits(scores, labels, pos_weight=weight)
