"""Retrieval recall@K both ways between images and captions (numpy only).

``scores[i, k]`` is the similarity of image ``i`` and caption ``k``; ``caption_image[k]`` is the image caption
``k`` belongs to. Image -> text: an image is a hit at K when any of its captions is among the K best captions.
Text -> image: a caption is a hit at K when its own image is among the K best images. Ties are broken against
the model (a positive tied with a negative counts as ranked below it), so constant scores get chance recall at best.
"""

from __future__ import annotations

import numpy as np

KS = (1, 5, 10)


def _ranks_of_best_positive(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Per row, the 0-based rank of the best-scored positive (ties counted against it)."""
    best_pos = np.where(positive, scores, -np.inf).max(axis=1)  # (rows,)
    return (np.where(positive, -np.inf, scores) >= best_pos[:, None]).sum(axis=1)


def retrieval_recall(scores: np.ndarray, caption_image: np.ndarray, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """``{"i2t_r@1": ..., "t2i_r@1": ..., ...}`` in percent, plus gallery sizes and the random-ranking baseline."""
    scores = np.asarray(scores, dtype=np.float64)
    caption_image = np.asarray(caption_image, dtype=np.int64)
    n_images, n_captions = scores.shape
    if caption_image.shape != (n_captions,) or not np.isfinite(scores).all():
        raise ValueError(f"scores {scores.shape} need one finite column per caption ({caption_image.shape[0]})")
    positive = caption_image[None, :] == np.arange(n_images)[:, None]  # (images, captions)
    i2t = _ranks_of_best_positive(scores, positive)
    t2i = _ranks_of_best_positive(scores.T, positive.T)
    out: dict[str, float] = {"gallery_images": n_images, "gallery_captions": n_captions}
    for k in ks:
        out[f"i2t_r@{k}"] = 100.0 * float(np.mean(i2t < k))
        out[f"t2i_r@{k}"] = 100.0 * float(np.mean(t2i < k))
        out[f"random_t2i_r@{k}"] = 100.0 * min(k, n_images) / n_images
    return out


def recall_curve(scores: np.ndarray, caption_image: np.ndarray, max_k: int = 50) -> dict[str, np.ndarray]:
    """Recall@K in percent for K = 1..``max_k`` (capped at the gallery sizes): ``{"k", "i2t", "t2i"}`` arrays."""
    scores = np.asarray(scores, dtype=np.float64)
    caption_image = np.asarray(caption_image, dtype=np.int64)
    positive = caption_image[None, :] == np.arange(scores.shape[0])[:, None]
    i2t = _ranks_of_best_positive(scores, positive)
    t2i = _ranks_of_best_positive(scores.T, positive.T)
    k = np.arange(1, min(max_k, max(scores.shape)) + 1)
    return {
        "k": k,
        "i2t": 100.0 * (i2t[None, :] < k[:, None]).mean(1),
        "t2i": 100.0 * (t2i[None, :] < k[:, None]).mean(1),
    }
