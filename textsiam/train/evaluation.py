"""Dev metrics of a model's pair outputs: graded (Spearman/Pearson), binary (ROC AUC, AP, at-threshold), and for a
multi-class head its class metrics (macro F1, accuracy, the FNC score for the FNC-1 stances)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.eval.classes import class_report, class_selection_metrics, predicted_classes
from textsiam.eval.metrics import binary_metrics, graded_metrics
from textsiam.models.base import PairModel

SELECTION_METRICS = {"graded": ("spearman", "pearson"), "binary": ("roc_auc", "average_precision")}
"""Dev metrics that can pick the best epoch of a model that scores pairs (threshold-free, higher = better)."""


def _binary_score(model: PairModel) -> bool:
    """Whether a multi-class head also gives a binary score (it names its negative class)."""
    return model.negative_class is not None


def selection_metrics(data: PairData, classes: Sequence[str] | None = None, binary_score: bool = True) -> tuple:
    """The dev metrics that can pick the best epoch, the default first.

    A multi-class head (``classes``) is selected by its class metrics (:func:`class_selection_metrics`: the FNC score
    for the FNC-1 stances), or by the binary metrics of its binary score when it has one and the labels are binary.
    """
    if classes:
        data.class_labels  # noqa: B018 - a DataError naming the file when the dev pairs have no class column
        binary = SELECTION_METRICS["binary"] if binary_score and data.label_kind == "binary" else ()
        return class_selection_metrics(classes) + binary
    if data.label_kind == "none":
        raise ConfigError(f"{data.source}: the dev data has no labels, so it cannot select the best epoch")
    return SELECTION_METRICS[data.label_kind]


def pick_metric(requested: str | None, data: PairData, model: PairModel | None = None) -> str:
    """``requested`` (``TrainConfig.eval_metric``) if it applies to ``model`` on ``data``, else the default."""
    classes = model.classes if model is not None else None
    allowed = selection_metrics(data, classes, model is not None and _binary_score(model))
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        what = f"a multi-class head (classes {list(classes)})" if classes else f"{data.label_kind} dev labels"
        raise ConfigError(f"eval_metric {requested!r} does not apply to {what}; use one of {allowed}")
    return requested


def evaluate_scores(scores: np.ndarray, data: PairData, threshold: float | None = None) -> dict[str, Any]:
    if data.label_kind == "graded":
        return graded_metrics(scores, data.labels)
    if data.label_kind == "binary":
        return binary_metrics(scores, data.labels, threshold=threshold)
    raise ConfigError(f"{data.source}: no label column, so there is nothing to evaluate against")


def evaluate_outputs(
    outputs: torch.Tensor, data: PairData, model: PairModel
) -> tuple[dict[str, Any], np.ndarray | None]:
    """``(metrics, binary scores or None)`` of ``model.pair_outputs`` on ``data``.

    Scores get :func:`evaluate_scores`. Logits of a multi-class head get the class metrics (nested ones, per class and
    the confusion matrix, left out: these go to the training log) and, when the head has a binary score and the
    labels are binary, the binary metrics of that score."""
    if not model.classes:
        scores = outputs.numpy()
        return evaluate_scores(scores, data), scores
    pred = predicted_classes(outputs.numpy(), model.classes)
    report = class_report(data.class_labels, pred, model.classes)
    metrics = {k: v for k, v in report.items() if not isinstance(v, dict)}
    if not (_binary_score(model) and data.label_kind == "binary"):
        return metrics, None
    scores = model.head.binary_score(outputs).numpy()
    return evaluate_scores(scores, data) | metrics, scores
