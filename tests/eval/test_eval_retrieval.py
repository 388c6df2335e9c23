"""Retrieval recall@K (image -> text, text -> image) against a brute-force loop."""

from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import SAME_RATIO

from textsiam.eval.retrieval import retrieval_recall


def brute(scores, caption_image, k):
    n_img, n_cap = scores.shape
    i2t = []
    for i in range(n_img):
        order = sorted(range(n_cap), key=lambda c: (-scores[i, c], caption_image[c] == i))  # ties: positive last
        i2t.append(any(caption_image[c] == i for c in order[:k]))
    t2i = []
    for c in range(n_cap):
        order = sorted(range(n_img), key=lambda i: (-scores[i, c], i == caption_image[c]))
        t2i.append(caption_image[c] in order[:k])
    return 100 * np.mean(i2t), 100 * np.mean(t2i)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    caption_image = np.repeat(np.arange(7), 3)
    scores = np.round(rng.normal(size=(7, 21)), 1)  # rounding makes ties
    out = retrieval_recall(scores, caption_image)
    for k in (1, 5, 10):
        i2t, t2i = brute(scores, caption_image, k)
        assert out[f"i2t_r@{k}"] == pytest.approx(i2t, rel=SAME_RATIO) and out[f"t2i_r@{k}"] == pytest.approx(
            t2i, rel=SAME_RATIO
        )
    assert out["gallery_images"] == 7 and out["random_t2i_r@5"] == pytest.approx(500 / 7, rel=SAME_RATIO)


def test_perfect_and_constant_scores():
    caption_image = np.array([0, 0, 1, 1, 2])
    perfect = (caption_image[None, :] == np.arange(3)[:, None]).astype(float)
    assert retrieval_recall(perfect, caption_image)["t2i_r@1"] == 100.0
    constant = retrieval_recall(np.zeros((3, 5)), caption_image)
    assert constant["t2i_r@1"] == 0.0 and constant["i2t_r@1"] == 0.0  # ties never count for the model
