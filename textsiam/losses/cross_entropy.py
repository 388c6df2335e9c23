"""Cross-entropy on the class logits of a multi-class pair head (e.g. the 4 FNC-1 stances)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from textsiam.losses.base import PairLoss
from textsiam.params import Interval, ListOf, Optional
from textsiam.registry import LOSSES


@LOSSES.register("cross-entropy")
class CrossEntropyLoss(PairLoss):
    """Cross-entropy between a pair-classifier head's logits and class indices.

    With logits ``z`` over ``K`` classes and gold class ``c``::

        L = mean over the batch of  -log softmax(z)_c  =  -z_c + log sum_k exp(z_k)

    Reference: the softmax classifier over (u, v, |u - v|, u * v) of Reimers & Gurevych, "Sentence-BERT", EMNLP
    2019 (after InferSent, Conneau et al. 2017). The trainer maps the data's ``class`` column to indices by the
    class names stored in the head.

    With ``class_weights`` ``w`` (one positive number per class, in the order of the head's ``classes``) each pair
    counts ``w_c`` times and the mean is over the weights (``F.cross_entropy``'s ``weight``)::

        L = sum_i w_{c_i} * l_i / sum_i w_{c_i}

    so a rare class (FNC-1 ``disagree``, 2 % of the pairs) can weigh as much as the frequent ones (King, Zeng,
    "Logistic regression in rare events data", 2001, on reweighting rare classes).

    Args:
        label_smoothing: in [0, 1); spreads that much target mass evenly over the classes.
        class_weights: None (every pair counts once) or a list of positive weights, one per class of the head.
    """

    takes = "logits"
    params = {
        "label_smoothing": Interval(float, 0, 1, closed="left"),
        # one positive weight per class, in the head's class order (e.g. FNC-1's rare disagree weighted up)
        "class_weights": Optional(ListOf(Interval(float, 0, None, closed="neither"), min_len=2)),
    }

    def __init__(self, label_smoothing: float = 0.0, class_weights: list[float] | None = None) -> None:
        super().__init__()
        self.set_params(label_smoothing=label_smoothing, class_weights=class_weights)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 2 or labels.shape != (logits.shape[0],):
            raise ValueError(
                f"logits must be (batch, classes) and labels (batch,), got {tuple(logits.shape)} and "
                f"{tuple(labels.shape)}"
            )
        if logits.shape[0] == 0:
            raise ValueError("the batch is empty; a loss needs at least one pair")
        labels = labels.to(device=logits.device, dtype=torch.long)
        if bool(((labels < 0) | (labels >= logits.shape[1])).any()):
            raise ValueError(f"class indices must lie in [0, {logits.shape[1]}), got {labels.unique().tolist()}")
        weight = None
        if self.class_weights is not None:
            if len(self.class_weights) != logits.shape[1]:
                raise ValueError(
                    f"class_weights has {len(self.class_weights)} entries but the head has {logits.shape[1]} classes; "
                    "give one weight per class, in the order of the head's classes"
                )
            weight = torch.tensor(self.class_weights, device=logits.device)
        return F.cross_entropy(logits.float(), labels, weight=weight, label_smoothing=self.label_smoothing)
