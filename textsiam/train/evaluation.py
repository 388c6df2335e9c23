"""Metrics for a model's scores on a PairData: graded (Spearman/Pearson) or binary (ROC AUC, AP, at-threshold)."""

from __future__ import annotations

from typing import Any

import numpy as np

from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.eval.metrics import binary_metrics, graded_metrics

SELECTION_METRICS = {"graded": ("spearman", "pearson"), "binary": ("roc_auc", "average_precision")}
"""Dev metrics that can pick the best epoch (threshold-free, higher = better)."""


def pick_metric(requested: str | None, data: PairData) -> str:
    if data.label_kind == "none":
        raise ConfigError(f"{data.source}: the dev data has no labels, so it cannot select the best epoch")
    allowed = SELECTION_METRICS[data.label_kind]
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        raise ConfigError(
            f"eval_metric {requested!r} does not apply to {data.label_kind} dev labels; use one of {allowed}"
        )
    return requested


def evaluate_scores(scores: np.ndarray, data: PairData, threshold: float | None = None) -> dict[str, Any]:
    if data.label_kind == "graded":
        return graded_metrics(scores, data.labels)
    if data.label_kind == "binary":
        return binary_metrics(scores, data.labels, threshold=threshold)
    raise ConfigError(f"{data.source}: no label column, so there is nothing to evaluate against")
