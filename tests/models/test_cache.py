"""Evaluation encodes each distinct text once (the tower-output cache: tests/encoders/test_frozen_towers.py)."""

from __future__ import annotations

import numpy as np
import torch

from textsiam.encoders import TfidfEncoder
from textsiam.models import TwinModel
from textsiam.models.cache import unique_items


def test_unique_items_round_trips():
    distinct, inverse = unique_items(["b", "a", "b", "c", "a"])
    assert distinct == ["b", "a", "c"] and [distinct[i] for i in inverse] == ["b", "a", "b", "c", "a"]
    arrays = [np.zeros(2), np.zeros(2)]
    assert unique_items(arrays)[1].tolist() == [0, 1]  # non-text items are never merged


class CountingTfidf(TfidfEncoder):
    def collate(self, items):
        self.seen.extend(items)
        return super().collate(items)


def test_similarity_scores_encode_each_distinct_text_once():
    encoder = CountingTfidf(max_features=32)
    encoder.seen = []
    encoder.fit_vocabulary(["one body text", "another body", "headline one", "headline two"])
    model = TwinModel(encoder)
    a = ["headline one", "headline two"] * 10
    b = ["one body text"] * 15 + ["another body"] * 5
    scores = model.similarity_scores(a, b, batch_size=4)
    assert sorted(encoder.seen) == sorted(["headline one", "headline two", "one body text", "another body"])
    u, v = model.encode(a), model.encode(b)
    # the same cached embeddings, cosine by another function: a few float32 ulps of scores in [-1, 1]
    np.testing.assert_allclose(scores, torch.nn.functional.cosine_similarity(u, v).numpy(), atol=1e-6)
