"""Cross-entropy on the class logits of a multi-class pair head (e.g. the 4 FNC-1 stances)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from textsiam.losses.base import PairLoss
from textsiam.params import Interval
from textsiam.registry import LOSSES


@LOSSES.register("cross-entropy")
class CrossEntropyLoss(PairLoss):
    """Cross-entropy between a pair-classifier head's logits and class indices.

    With logits ``z`` over ``K`` classes and gold class ``c``::

        L = mean over the batch of  -log softmax(z)_c  =  -z_c + log sum_k exp(z_k)

    Reference: the softmax classifier over (u, v, |u - v|, u * v) of Reimers & Gurevych, "Sentence-BERT", EMNLP
    2019 (after InferSent, Conneau et al. 2017). The trainer maps the data's ``class`` column to indices by the
    class names stored in the head.

    Args:
        label_smoothing: in [0, 1); spreads that much target mass evenly over the classes.
    """

    takes = "logits"
    params = {"label_smoothing": Interval(float, 0, 1, closed="left")}

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.set_params(label_smoothing=label_smoothing)

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
        return F.cross_entropy(logits.float(), labels, label_smoothing=self.label_smoothing)
