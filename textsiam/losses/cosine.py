"""Regression of the cosine similarity onto the label."""

from __future__ import annotations

import torch

from textsiam.layers.similarity import build_similarity
from textsiam.losses.base import PairLoss, check_pair_inputs
from textsiam.registry import LOSSES


@LOSSES.register("cosine")
class CosineSimilarityLoss(PairLoss):
    """Mean squared error between cos(u, v) and the label in [0, 1].

    ::

        L = mean over the batch of  (cos(u, v) - y)^2

    Graded labels (e.g. STS scores 0..5) must already be scaled to [0, 1]; the trainer does this. The cosine
    itself ranges over [-1, 1], so a dissimilar pair is pulled to orthogonal, not to opposite.

    Paper: N. Reimers, I. Gurevych, "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks", EMNLP 2019
    (the regression objective; sentence-transformers' CosineSimilarityLoss).
    """

    takes = "embeddings"

    def __init__(self) -> None:
        super().__init__()
        self.sim = build_similarity("cosine")

    def forward(self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        u, v, labels = check_pair_inputs(u, v, labels)
        return (self.sim(u, v) - labels).pow(2).mean()
