"""Evaluation metrics for similarity scores: rank correlation for graded data, ROC/PR and confusion counts for binary.

Scores follow the package convention: higher = more similar. A pair is predicted a match when ``score >= threshold``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from textsiam.errors import DataError

__all__ = [
    "binary_metrics",
    "check_binary_labels",
    "check_both_classes",
    "check_scores",
    "confusion_at",
    "graded_metrics",
]


def check_scores(scores, name: str = "scores") -> np.ndarray:
    """Return ``scores`` as a 1-D float array; raise ``DataError`` naming the first non-finite value."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"{name} must be a 1-D sequence of numbers, got an array of shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{name} must be finite numbers, but {name}[{i}] = {arr[i]} ({bad.size} non-finite value(s) in all); "
            "drop or fix those pairs (a NaN score usually means an empty text or a zero embedding)"
        )
    return arr


def check_binary_labels(labels, n: int, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as a 1-D float array of 0/1 with length ``n``; raise ``DataError`` otherwise."""
    arr = np.asarray(labels, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"{name} must be a 1-D sequence, got an array of shape {arr.shape}")
    if arr.shape[0] != n:
        raise DataError(f"scores and {name} must have the same length, got {n} scores and {arr.shape[0]} {name}")
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"binary {name} must be 0 or 1, but {name}[{i}] = {arr[i]}; for graded similarity use graded_metrics, "
            f"or binarise first (e.g. labels >= 0.5)"
        )
    return arr


def check_both_classes(y: np.ndarray, what: str) -> None:
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        only = "positive (1)" if n_pos else "negative (0)"
        raise DataError(
            f"{what} needs both classes, but all {y.shape[0]} labels are {only}: ROC AUC, TPR/FPR and thresholds are "
            "undefined without matches and non-matches; evaluate on data that contains both"
        )


def confusion_at(scores, labels, threshold: float) -> dict:
    """Confusion counts and rates when a pair is predicted a match iff ``score >= threshold``.

    Undefined ratios (precision with no predicted match, a rate with an empty class) are reported as 0.0,
    as scikit-learn does with ``zero_division=0``.
    """
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0]).astype(bool)
    pred = s >= float(threshold)
    tp, fp = int(np.sum(pred & y)), int(np.sum(pred & ~y))
    fn, tn = int(np.sum(~pred & y)), int(np.sum(~pred & ~y))
    return _rates(tp, fp, tn, fn)


def _ratio(num: int, den: int) -> float:
    return float(num) / float(den) if den else 0.0


def _rates(tp: int, fp: int, tn: int, fn: int) -> dict:
    n = tp + fp + tn + fn
    recall = _ratio(tp, tp + fn)
    return {
        "n": n,
        "accuracy": _ratio(tp + tn, n),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": recall,
        "tpr": recall,
        "fpr": _ratio(fp, fp + tn),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def graded_metrics(scores, gold) -> dict:
    """Spearman and Pearson correlation between predicted similarity and graded gold similarity.

    A constant input has no defined correlation; it is reported as NaN rather than raised, so a report still renders.
    """
    s = check_scores(scores)
    g = check_scores(gold, name="gold")
    if g.shape[0] != s.shape[0]:
        raise DataError(f"scores and gold must have the same length, got {s.shape[0]} scores and {g.shape[0]} gold")
    if s.shape[0] < 2:
        raise DataError(f"correlation needs at least 2 pairs, got {s.shape[0]}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        spearman = float(stats.spearmanr(s, g).statistic)
        pearson = float(stats.pearsonr(s, g).statistic)
    return {"n": int(s.shape[0]), "spearman": spearman, "pearson": pearson}


def binary_metrics(scores, labels, threshold: float | None = None) -> dict:
    """ROC AUC and average precision of ``scores`` against 0/1 ``labels``; confusion metrics if ``threshold`` is set."""
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    check_both_classes(y, "binary_metrics")
    out = {
        "n": int(s.shape[0]),
        "roc_auc": float(roc_auc_score(y, s)),
        "average_precision": float(average_precision_score(y, s)),
    }
    if threshold is not None:
        out["threshold"] = float(threshold)
        rates = confusion_at(s, y, threshold)
        rates.pop("n")
        out.update(rates)
    return out
