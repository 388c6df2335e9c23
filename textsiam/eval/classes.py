"""Metrics of a multi-class pair head: per-class precision/recall/F1, the confusion matrix, and the FNC-1 score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

FNC_CLASSES = ("unrelated", "discuss", "agree", "disagree")
FNC_RELATED = frozenset({"agree", "disagree", "discuss"})


def _check(gold: Sequence[str], pred: Sequence[str]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold and predicted classes must have the same length, got {len(gold)} and {len(pred)}")
    if not len(gold):
        raise ValueError("class metrics need at least one pair")


def class_metrics(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix (rows gold, cols pred).

    Gold classes the model does not know (not in ``classes``) are an error: they could never be predicted.
    """
    _check(gold, pred)
    unknown = sorted(set(gold) - set(classes))
    if unknown:
        raise ValueError(f"gold classes {unknown} are not among the model's classes {list(classes)}")
    labels = list(classes)
    p, r, f, support = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    per_class = {
        c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
        for i, c in enumerate(labels)
    }
    matrix = confusion_matrix(gold, pred, labels=labels)
    return {
        "class_accuracy": float(np.mean(np.asarray(gold) == np.asarray(pred))),
        "macro_f1": float(np.mean(f)),
        "per_class": per_class,
        "confusion_matrix": {"classes": labels, "rows_gold_cols_predicted": matrix.tolist()},
    }


def fnc_score(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """The official FNC-1 score (scorer.py ``score_submission``) and its share of the best possible score.

    Per pair: +0.25 when related/unrelated is right; if the gold stance is related and the predicted stance is the
    same, +0.75 more. The maximum gives every pair its full credit (0.25 unrelated, 1.0 related).
    """
    _check(gold, pred)
    score = 0.0
    for g, p in zip(gold, pred):
        if (g in FNC_RELATED) == (p in FNC_RELATED):
            score += 0.25
            if g in FNC_RELATED and g == p:
                score += 0.75
    best = sum(1.0 if g in FNC_RELATED else 0.25 for g in gold)
    return {"fnc_score": score, "fnc_max": best, "fnc_relative": score / best}


def is_fnc(classes: Sequence[str]) -> bool:
    """True when ``classes`` are the four FNC-1 stances (in any order): the FNC score applies."""
    return set(classes) == set(FNC_CLASSES)


CLASS_SELECTION = ("macro_f1", "class_accuracy")
"""Class metrics of any multi-class head that can pick the best epoch (higher = better)."""


def class_selection_metrics(classes: Sequence[str]) -> tuple[str, ...]:
    """The class metrics that can pick a multi-class head's best epoch, the default first: the FNC score for the
    FNC-1 stances (what the task is scored by), else macro F1."""
    return (("fnc_relative",) if is_fnc(classes) else ()) + CLASS_SELECTION


def predicted_classes(logits: Any, classes: Sequence[str]) -> list[str]:
    """The class name with the highest logit per row of ``(n, len(classes))`` logits (array or tensor)."""
    return [classes[i] for i in np.asarray(logits).argmax(axis=-1).tolist()]


def class_report(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """:func:`class_metrics`, plus :func:`fnc_score` when the classes are the FNC-1 stances."""
    report = class_metrics(gold, pred, classes)
    return report | fnc_score(gold, pred) if is_fnc(classes) else report
