"""Honest hyperparameters for the ridge-map model: K-fold cross-validation over the training images.

The score weights of :class:`~textsiam.ridge.model.RidgeMapModel` (ridge penalty, prior weight and
temperature, class-match weight, caption class temperature) are chosen here, on the training images only:

- the training images are split into ``folds`` folds by image (all captions of an image in its image's fold);
- for every setting of the grid, the model is fitted (closed form, on the cached tower outputs) on K-1 folds and
  the held-out fold's images and captions are ranked against each other with the model's own score (cohort
  normalisation against the fold's training images and captions, exactly as the refitted model scores new data);
- the setting with the best pooled held-out retrieval score (``metric``: mean reciprocal rank or R@1, the mean of
  caption -> image and image -> caption) wins; ties keep the earlier setting in grid order.

The caller refits on all training images with the winner. The winner's held-out match pairs (each held-out caption
with its own image and with one other image of the same fold) are out-of-fold scores: pairs whose images the fold
model never saw, so they may help choose a match threshold (training pairs may not: the map fits them).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from textsiam.errors import DataError
from textsiam.params import Fields, Interval, ListOf

POSITIVE = Interval(float, 0, None, closed="neither")
WEIGHT = Interval(float, 0)  # >= 0: 0 turns the term off
GRID_PARAMS = {
    "ridge": POSITIVE,
    "prior_weight": WEIGHT,
    "prior_temperature": POSITIVE,
    "class_match_weight": WEIGHT,
    "text_class_temperature": POSITIVE,
}
"""The score's weights and temperatures (ridge-map constructor keywords) that the cross-validation may search."""
GRID_KEYS = tuple(GRID_PARAMS)
GRID = Fields({key: ListOf(value) for key, value in GRID_PARAMS.items()})
"""A grid: an object of option -> non-empty list of its allowed values (options from GRID_KEYS)."""
DEFAULT_GRID: dict[str, list[float]] = {
    "ridge": [0.03, 0.1, 0.3],
    "prior_weight": [0.0, 0.5, 1.0, 1.5],
    "prior_temperature": [0.7, 1.0, 1.5],
    "class_match_weight": [0.0, 1.0, 2.0, 4.0, 8.0, 16.0],
    "text_class_temperature": [0.03, 0.05, 0.1, 0.2],
}
METRICS = ("mrr", "r@1")


def settings(grid: dict[str, list[float]], base: dict[str, float]) -> list[dict[str, float]]:
    """Every combination of the grid; options the grid leaves out keep ``base``'s value."""
    keys = [k for k in GRID_KEYS if k in grid]
    return [{**base, **dict(zip(keys, combo, strict=True))} for combo in itertools.product(*(grid[k] for k in keys))]


def image_folds(n_images: int, folds: int, seed: int = 0) -> np.ndarray:
    """Fold index of each image (a seeded permutation dealt round-robin); every fold holds >= 2 images."""
    if folds < 2 or n_images < 2 * folds:
        raise DataError(
            f"ridge-map cross-validation: {n_images} training images cannot make {folds} folds of at least 2 images; "
            "lower cv_folds (>= 2) or set cv_folds 0 to keep the configured weights"
        )
    out = np.empty(n_images, dtype=np.int64)
    out[np.random.default_rng(seed).permutation(n_images)] = np.arange(n_images) % folds
    return out


def retrieval_score(scores: torch.Tensor, text_image: np.ndarray, metric: str) -> tuple[float, float]:
    """(caption -> image, image -> caption) pooled sums of reciprocal ranks or hits@1 for one fold;
    ``scores``: (images, captions); ``text_image[k]``: caption k's image (row of ``scores``)."""
    s = scores.double()
    own = torch.as_tensor(text_image)
    cols = torch.arange(s.shape[1])
    t2i_rank = 1 + (s > s[own, cols][None, :]).sum(0)  # rank of its image among the fold's images, per caption
    mask = own[None, :] == torch.arange(s.shape[0])[:, None]  # (images, captions): the image's own captions
    best_own = s.masked_fill(~mask, -torch.inf).max(1).values
    i2t_rank = 1 + (s.masked_fill(mask, -torch.inf) > best_own[:, None]).sum(1)  # first own caption's rank
    if metric == "r@1":
        return float((t2i_rank == 1).sum()), float((i2t_rank == 1).sum())
    return float((1.0 / t2i_rank).sum()), float((1.0 / i2t_rank).sum())


def match_pairs(text_image: np.ndarray, n_images: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(image, caption) index pairs: each caption with its own image (label 1) and one other image (label 0)."""
    k = np.arange(len(text_image))
    other = (text_image + rng.integers(1, n_images, size=len(k))) % n_images
    return np.concatenate([text_image, other]), np.concatenate([k, k])


@dataclass
class CvResult:
    """The grid search's outcome: the winner, every setting's score, and the winner's out-of-fold match pairs."""

    best: dict[str, float]
    best_score: float
    scores: list[tuple[dict[str, float], float]] = field(default_factory=list)
    held_out_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    held_out_labels: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def summary(self, folds: int, metric: str, top: int = 5) -> dict[str, Any]:
        ranked = sorted(self.scores, key=lambda x: -x[1])[:top]
        return {
            "folds": folds,
            "metric": f"mean of caption->image and image->caption {metric} on held-out folds",
            "settings": len(self.scores),
            "chosen": self.best,
            "chosen_score": self.best_score,
            "top": [{**s, "score": v} for s, v in ranked],
            "held_out_pairs": len(self.held_out_labels),
        }


def cross_validate(model: Any, left: torch.Tensor, right: torch.Tensor, image_row: np.ndarray, text_row: np.ndarray):
    """Grid search over ``model.cv_grid`` by K-fold CV over the images; sets nothing on the model but leaves it
    in a fold's state (the caller refits). ``left``/``right``: tower outputs of the unique images / captions;
    ``image_row``/``text_row``: each matching training pair's image and caption index (a caption text shared by
    two images is a query for each)."""
    n_images = len(left)
    fold = image_folds(n_images, model.cv_folds)
    grid = settings(model.cv_grid, {k: getattr(model, k) for k in GRID_KEYS})
    totals = np.zeros((len(grid), 2))
    pair_scores: list[list[np.ndarray]] = [[] for _ in grid]
    labels = []
    for f in range(model.cv_folds):
        out_img = np.flatnonzero(fold == f)
        out_pair = np.flatnonzero(np.isin(image_row, out_img))  # held-out captions: one query per (image, caption)
        keep = np.setdiff1d(np.arange(len(image_row)), out_pair)  # training pairs of the K-1 folds
        local = np.searchsorted(out_img, image_row[out_pair])  # held-out caption -> its image's row among out_img
        pi, pk = match_pairs(local, len(out_img), np.random.default_rng(f))
        labels.append(np.r_[np.ones(len(out_pair)), np.zeros(len(out_pair))])
        in_img, in_txt = np.unique(image_row[keep]), np.unique(text_row[keep])
        for ridge in sorted({s["ridge"] for s in grid}):
            model.ridge = ridge
            model.fit_map(left, right, image_row[keep], text_row[keep])
            for i, setting in enumerate(grid):
                if setting["ridge"] != ridge:
                    continue
                model.set_weights(setting)
                model.set_cohorts(left[in_img], right[in_txt])
                s = model.project(left[out_img], "left") @ model.project(right[text_row[out_pair]], "right").T
                totals[i] += retrieval_score(s, local, model.cv_metric)
                pair_scores[i].append(s[pi, pk].numpy())
    n_queries = np.array([len(image_row), n_images], dtype=float)
    mean = (totals / n_queries).mean(1)
    best = int(np.argmax(mean))  # first of the best in grid order
    return CvResult(
        best=grid[best],
        best_score=float(mean[best]),
        scores=[(s, float(v)) for s, v in zip(grid, mean, strict=True)],
        held_out_scores=np.concatenate(pair_scores[best]),
        held_out_labels=np.concatenate(labels),
    )
