"""Ridge map: image features mapped into a frozen text tower's own space in closed form, no gradient training.

For caption-image matching with very few training images (COCO mini: 64), where trained projections overfit:

- the text tower (MiniLM) keeps its space; captions are its L2-normalised embeddings ``t``;
- image features (standardised on the training images) are mapped to that space by ridge regression onto the
  embeddings of their captions (every (image, caption) training pair is one row): ``z = norm(W x)``;
- optional class prior (a zero-shot bridge): an image tower with classifier logits (``efficientnet-lite0`` with
  ``class_logits``) gives class probabilities ``p`` (softmax at ``prior_temperature``); the text tower embeds
  ``prompt`` with each class name, so ``norm(p @ names)`` is a second guess of the caption embedding;
  a caption's class distribution is ``q = softmax(t . names / text_class_temperature)``; the pair score is
  ``cos(z, t) + prior_weight * cos(prior, t) + class_match_weight * sum(sqrt(p * q))`` (the last term is the
  Bhattacharyya coefficient of the image's and the caption's class distributions);
- optional cohort score normalisation (``score_norm``, "s-norm" from speaker verification): the raw score of a
  pair is standardised against the training images (for its caption) and the training captions (for its
  image), and the two z-scores are averaged, so one threshold fits every caption and image.

The weights are chosen honestly by default: ``cv_folds``-fold cross-validation over the training images
(:mod:`textsiam.ridge.cv`) over ``cv_grid`` (default :data:`~textsiam.ridge.cv.DEFAULT_GRID`),
then a refit on all training images with the winner, whose weights the saved config then holds; ``cv_folds`` 0
keeps the configured weights. With ``threshold_from_cv`` the winner's out-of-fold match pairs (scores of images
the fold model never saw) are kept with the model and join the dev pairs when a threshold is tuned.

All of it is a dot product of per-side embeddings (``similarity`` "dot"): the left embedding is
``0.5 * [u / su, u, -mu_u / su, 1]`` and the right one ``[v, v / sv, 1, -mu_v / sv]``, where ``u``, ``v`` are the
raw embeddings and ``mu``, ``s`` the mean and standard deviation of a side's scores against the other side's
cohort. So ``encode``, ranking and search work unchanged. ``textsiam train`` fits the model (the trainer calls
:meth:`RidgeMapModel.fit_closed_form` on the training pairs; dev pairs only pick the threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from textsiam.encoders.base import Encoder
from textsiam.errors import ConfigError, DataError
from textsiam.models.base import PairModel, to_device
from textsiam.models.cache import unique_items
from textsiam.params import Bool, Choice, Interval, OneOf, Optional, Record, Text
from textsiam.registry import PAIR_MODELS
from textsiam.ridge.cv import DEFAULT_GRID, GRID, GRID_KEYS, GRID_PARAMS, METRICS, cross_validate


@PAIR_MODELS.register("ridge-map")
class RidgeMapModel(PairModel):
    """Image tower (left) mapped into the frozen text tower's (right) space by ridge regression; see the module doc.

    Args:
        ridge: the ridge penalty per training row (lambda = ridge * rows), on standardised image features.
        prior_weight: weight of the class prior's cosine (0: no prior; needs a left tower with ``class_names``).
        prior_temperature: softmax temperature of the class logits.
        class_match_weight: weight of the class-distribution overlap of image and caption (0: none).
        text_class_temperature: softmax temperature of a caption's cosines to the class-name embeddings.
        prompt: the text embedded for each class name (``{}`` is the name).
        score_norm: cohort score normalisation against the training images and captions.
        cv_folds: folds of the cross-validation over the training images that chooses the weights (0: none, keep
            the weights above).
        cv_grid: option -> values to search (options from ``cv.GRID_KEYS``; left-out options keep their value
            above); None: ``cv.DEFAULT_GRID`` (its ridge values alone for a left tower without class logits).
        cv_metric: "mrr" (mean reciprocal rank) or "r@1", averaged over caption->image and image->caption.
        threshold_from_cv: keep the winner's out-of-fold match pairs; threshold tuning adds them to the dev pairs.
        cohort_images, cohort_texts, cv_pairs: sizes set by fitting (saved so a model folder rebuilds its buffers).
        cv_result: set by fitting: the cross-validation's chosen setting and scores (a record; changes nothing).
    """

    training_kind = "closed-form"  # fit_closed_form is the fit: no gradient steps
    tower_keys = ("left", "right")
    config_keys = (
        "similarity",
        "head",
        "ridge",
        "prior_weight",
        "prior_temperature",
        "class_match_weight",
        "text_class_temperature",
        "prompt",
        "score_norm",
        "cohort_images",
        "cohort_texts",
        "cv_folds",
        "cv_grid",
        "cv_metric",
        "threshold_from_cv",
        "cv_pairs",
        "cv_result",
    )
    params = {
        **PairModel.params,
        "similarity": Choice("dot"),  # the model scores by its own dot product
        **GRID_PARAMS,
        "prompt": Text(contains="{}"),  # {} is the class name
        "score_norm": Bool(),
        **dict.fromkeys(("cohort_images", "cohort_texts", "cv_pairs"), Interval(int, 0)),
        "cv_folds": OneOf(Choice(0), Interval(int, 2), text="0 (no cross-validation) or an integer >= 2"),
        "cv_grid": Optional(GRID),  # null: DEFAULT_GRID (its ridge values alone for a tower without class logits)
        "cv_metric": Choice(*METRICS),
        "threshold_from_cv": Bool(),
        "cv_result": Optional(Record()),
    }

    def __init__(
        self,
        left: Encoder,
        right: Encoder,
        similarity: str = "dot",
        head: dict[str, Any] | None = None,
        ridge: float = 0.1,
        prior_weight: float = 1.0,
        prior_temperature: float = 0.7,
        class_match_weight: float = 0.7,
        text_class_temperature: float = 0.05,
        prompt: str = "a photo of a {}.",
        score_norm: bool = True,
        cohort_images: int = 0,
        cohort_texts: int = 0,
        cv_folds: int = 5,
        cv_grid: dict[str, list[float]] | None = None,
        cv_metric: str = "mrr",
        threshold_from_cv: bool = True,
        cv_pairs: int = 0,
        cv_result: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(similarity=similarity, head=head)
        if head is not None:
            raise ConfigError(f"ridge-map model scores by its own dot product: similarity 'dot', no head; got {head!r}")
        if left is right:
            raise ConfigError("ridge-map towers must be two different modules (an image tower and a text tower)")
        weights = {"ridge": ridge, "prior_weight": prior_weight, "prior_temperature": prior_temperature}
        weights |= {"class_match_weight": class_match_weight, "text_class_temperature": text_class_temperature}
        cv = {"cv_folds": cv_folds, "cv_grid": cv_grid, "cv_metric": cv_metric, "threshold_from_cv": threshold_from_cv}
        sizes = {"cohort_images": cohort_images, "cohort_texts": cohort_texts, "cv_pairs": cv_pairs}
        checked = self.check_params(**weights, **cv, **sizes, prompt=prompt, score_norm=score_norm, cv_result=cv_result)
        self.left_encoder, self.right_encoder = left.requires_grad_(False), right.requires_grad_(False)  # never trained
        self.set_weights(checked)
        self.prompt, self.score_norm = prompt, score_norm
        if cv_grid is None:  # the default grid; less the class terms for a left tower without class logits
            grid = DEFAULT_GRID if getattr(left, "class_logits", False) else {"ridge": DEFAULT_GRID["ridge"]}
            checked["cv_grid"] = GRID.check(grid, "ridge-map model: cv_grid")
        self.cv_folds, self.cv_grid, self.cv_metric = cv_folds, checked["cv_grid"], cv_metric
        self.threshold_from_cv = threshold_from_cv
        class_weights = [self.prior_weight, self.class_match_weight]
        if self.cv_folds:
            class_weights += [*self.cv_grid.get("prior_weight", []), *self.cv_grid.get("class_match_weight", [])]
        uses_classes = any(class_weights)
        # a tower's class logits are split off its features whether or not a weight uses them (never map features)
        self.n_classes = len(left.class_names()) if getattr(left, "class_logits", False) else 0
        if uses_classes and not self.n_classes:
            raise ConfigError(
                f"ridge-map prior_weight {prior_weight} / class_match_weight {class_match_weight} (and their cv_grid "
                "values) need a left tower with class logits (efficientnet-lite0 with class_logits=true); set them "
                "to 0 (cv_grid: {'prior_weight': [0], 'class_match_weight': [0]}) otherwise"
            )
        feats, text = left.dim - self.n_classes, right.dim
        self.register_buffer("mean", torch.zeros(feats))
        self.register_buffer("std", torch.ones(feats))
        self.register_buffer("weight", torch.zeros(feats, text))
        self.register_buffer("names", torch.zeros(self.n_classes, text))
        raw = self.raw_dim
        self.register_buffer("cohort_left", torch.zeros(int(cohort_images), raw))
        self.register_buffer("cohort_right", torch.zeros(int(cohort_texts), raw))
        self.register_buffer("cv_scores", torch.zeros(int(cv_pairs)))  # out-of-fold match pairs (threshold_from_cv)
        self.register_buffer("cv_labels", torch.zeros(int(cv_pairs)))
        self.cv_summary = cv_result  # the last fit's cross-validation (chosen weights, scores), saved for the user

    left = property(lambda self: self.left_encoder, doc="The image tower.")
    right = property(lambda self: self.right_encoder, doc="The text tower, whose space the images are mapped to.")

    @property
    def raw_dim(self) -> int:
        prior = self.right_encoder.dim if self.prior_weight else 0
        return self.right_encoder.dim + prior + (self.n_classes if self.class_match_weight else 0)

    @property
    def embedding_dim(self) -> int:
        return 2 * self.raw_dim + 2 if self.score_norm else self.raw_dim

    # -- embeddings ---------------------------------------------------------------------------------------------
    def _raw(self, x: torch.Tensor, side: str) -> torch.Tensor:
        if side == "right":
            t = F.normalize(x, dim=-1)  # (batch, text_dim)
            parts = [t, t] if self.prior_weight else [t]
            if self.class_match_weight:  # the caption's class distribution, square-rooted
                parts.append(torch.softmax(t @ self.names.T / self.text_class_temperature, dim=-1).sqrt())
            return torch.cat(parts, dim=-1)
        feats = x[:, : self.weight.shape[0]]
        parts = [F.normalize(((feats - self.mean) / self.std) @ self.weight, dim=-1)]  # (batch, text_dim)
        if self.n_classes:
            p = torch.softmax(x[:, self.weight.shape[0] :] / self.prior_temperature, dim=-1)  # (batch, classes)
            if self.prior_weight:
                parts.append(self.prior_weight * F.normalize(p @ self.names, dim=-1))
            if self.class_match_weight:
                parts.append(self.class_match_weight * p.sqrt())
        return torch.cat(parts, dim=-1)

    def project(self, x: torch.Tensor, side: str = "left") -> torch.Tensor:
        raw = self._raw(x, side)  # (batch, raw_dim)
        if not self.score_norm:
            return raw
        cohort = self.cohort_right if side == "left" else self.cohort_left
        one = raw.new_ones(len(raw), 1)
        if len(cohort) > 1:
            scores = raw @ cohort.T  # (batch, cohort): this side against the other side's cohort
            mu, sd = scores.mean(dim=1, keepdim=True), scores.std(dim=1, keepdim=True).clamp_min(1e-6)
        else:  # not fitted yet (like any untrained model, its scores mean nothing): the raw score
            mu, sd = 0 * one, one
        if side == "left":
            return 0.5 * torch.cat([raw / sd, raw, -mu / sd, one], dim=-1)
        return torch.cat([raw, raw / sd, one, -mu / sd], dim=-1)

    # -- fitting ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _tower_outputs(self, items: Sequence[Any], side: str, batch_size: int = 64) -> torch.Tensor:
        tower = self.tower(side)
        tower.eval()
        out = torch.empty(len(items), tower.dim)
        for idx, feats in tower.batches(list(items), batch_size):
            out[idx] = tower(to_device(feats, self.device)).float().cpu()
        return out

    @torch.no_grad()
    def fit_closed_form(self, data: Any) -> dict[str, Any]:
        """Choose the weights by cross-validation over the training images (unless ``cv_folds`` is 0), then fit
        mean/std, the ridge map, the class-name embeddings and the cohorts on all matching training pairs."""
        keep = np.flatnonzero(np.asarray(data.labels, dtype=float) >= 0.5)
        if keep.size < 2:
            raise DataError("a ridge-map model needs at least 2 matching (label 1) image-caption training pairs")
        images, image_row = unique_items([data.a[i] for i in keep])
        texts, text_row = unique_items([data.b[i] for i in keep])
        left, right = self._tower_outputs(images, "left"), self._tower_outputs(texts, "right")
        image_row, text_row = np.asarray(image_row), np.asarray(text_row)
        if self.n_classes:
            prompts = [self.prompt.format(name) for name in self.left.class_names()]
            self.names.copy_(F.normalize(self._tower_outputs(prompts, "right"), dim=-1))
        info: dict[str, Any] = {}
        if self.cv_folds:
            result = cross_validate(self, left, right, image_row, text_row)
            self.set_weights(result.best)
            self.cv_summary = info["cv"] = result.summary(self.cv_folds, self.cv_metric)
            if self.threshold_from_cv:
                self.cv_scores = torch.as_tensor(result.held_out_scores, dtype=torch.float32)
                self.cv_labels = torch.as_tensor(result.held_out_labels, dtype=torch.float32)
        self.fit_map(left, right, image_row, text_row)
        self.set_cohorts(left, right)
        return {
            "rows": len(keep),
            "images": len(images),
            "texts": len(texts),
            "ridge_lambda": self.ridge * len(keep),
        } | info

    def fit_map(self, left: torch.Tensor, right: torch.Tensor, image_row: np.ndarray, text_row: np.ndarray) -> None:
        """Standardisation and ridge map from the tower outputs of the images in ``image_row`` (one row per pair)."""
        used = np.unique(image_row)
        feats = left[:, : self.weight.shape[0]].double()
        mean = feats[used].mean(0)
        std = feats[used].std(0) + 1e-6 if len(used) > 1 else torch.ones_like(mean)
        self.mean.copy_(mean.float())
        self.std.copy_(std.float())
        x = ((feats - mean) / std)[image_row]  # (rows, feats)
        y = F.normalize(right.double(), dim=-1)[text_row]  # (rows, text_dim)
        self.weight.copy_(ridge_solve(x, y, self.ridge * len(x)).float())

    def set_weights(self, setting: dict[str, float]) -> None:
        """Set the score's weights and temperatures (a cross-validation setting; see ``cv.GRID_KEYS``)."""
        for key in GRID_KEYS:
            setattr(self, key, float(setting[key]))

    def set_cohorts(self, left: torch.Tensor, right: torch.Tensor) -> None:
        """The score-normalisation cohorts: raw embeddings of these tower outputs (training images / captions)."""
        self.cohort_left = self._raw(left, "left")
        self.cohort_right = self._raw(right, "right")

    def held_out_pairs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Out-of-fold match pairs' (scores, labels) from the weights' cross-validation, for threshold tuning: held-out
        scores (the fold model never saw these images), not training pairs. None without them."""
        if not (self.threshold_from_cv and len(self.cv_labels)):
            return None
        return self.cv_scores.numpy().astype(float), self.cv_labels.numpy().astype(float)

    cohort_images = property(lambda self: len(self.cohort_left), doc="Training images in the cohort (config).")
    cohort_texts = property(lambda self: len(self.cohort_right), doc="Training captions in the cohort (config).")
    cv_pairs = property(lambda self: len(self.cv_labels), doc="Out-of-fold match pairs kept (config).")
    cv_result = property(lambda self: self.cv_summary, doc="The last fit's cross-validation record (config).")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()  # config_keys, read from the attributes and properties above
        return config if self.cv_summary else {k: v for k, v in config.items() if k != "cv_result"}


def ridge_solve(x: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """``W = (X^T X + lam I)^-1 X^T Y``, solved in whichever form has the smaller system.

    The primal form solves a (features x features) system; the dual form ``X^T (X X^T + lam I)^-1 Y`` (equal for
    lam > 0) a (rows x rows) one. COCO mini has 320 rows against 1,280 features (dual); Flickr8k's train split has
    29,985 rows, whose dual Gram matrix alone is 7.2 GB in float64 (primal: 13 MB).
    """
    rows, feats = x.shape
    if rows <= feats:
        gram = x @ x.T + lam * torch.eye(rows, dtype=x.dtype)
        return x.T @ torch.linalg.solve(gram, y)
    gram = x.T @ x + lam * torch.eye(feats, dtype=x.dtype)
    return torch.linalg.solve(gram, x.T @ y)
