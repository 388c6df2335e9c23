"""Metrics for a model's scores on a PairData: graded (Spearman/Pearson) or binary (ROC AUC, AP, at-threshold)."""

from __future__ import annotations

from typing import Any

import numpy as np

from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.eval.metrics import binary_metrics, graded_metrics


def pick_metric(requested: str | None, data: PairData) -> str:
    if requested:
        return requested
    if data.label_kind == "none":
        raise ConfigError(f"{data.source}: the dev data has no labels, so it cannot select the best epoch")
    return "spearman" if data.label_kind == "graded" else "roc_auc"


def evaluate_scores(scores: np.ndarray, data: PairData, threshold: float | None = None) -> dict[str, Any]:
    if data.label_kind == "graded":
        return graded_metrics(scores, data.labels)
    if data.label_kind == "binary":
        return binary_metrics(scores, data.labels, threshold=threshold)
    raise ConfigError(f"{data.source}: no label column, so there is nothing to evaluate against")
