"""Retrieval recall@K (image -> text, text -> image) against a brute-force loop."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.eval_helpers import SAME_RATIO
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


def test_recall_curve_agrees_with_recall_at_k_and_the_report_draws_it(tmp_path, image_files):
    from textsiam.eval.report import write_report
    from textsiam.eval.retrieval import recall_curve

    rng = np.random.default_rng(4)
    caption_image = np.repeat(np.arange(6), 2)
    scores = np.round(rng.normal(size=(6, 12)), 1)
    curve = recall_curve(scores, caption_image, max_k=50)
    assert curve["k"].tolist() == list(range(1, 13))  # capped at the larger gallery side
    out = retrieval_recall(scores, caption_image, ks=(1, 2, 5))
    for k in (1, 2, 5):
        assert curve["t2i"][k - 1] == out[f"t2i_r@{k}"] and curve["i2t"][k - 1] == out[f"i2t_r@{k}"]
    assert curve["t2i"][-1] == 100.0 and np.all(np.diff(curve["t2i"]) >= 0)
    refs = image_files(6, size=(24, 20))
    captions = [f"caption {k}" for k in range(12)]
    pair_scores, labels = rng.normal(size=10), np.array([1, 0] * 5)
    html = write_report(
        tmp_path / "r", pair_scores, labels, graded=False, retrieval=(scores, refs, captions, caption_image)
    )
    page = html.read_text()
    assert "What the model retrieves" in page and page.count("data:image/png;base64") >= 3
    for name in ("retrieval_text_to_image", "retrieval_image_to_text", "recall_at_k"):
        assert (tmp_path / "r" / f"{name}.png").stat().st_size > 1000
