"""Hypothesis strategies shared by the eval tests: scores with many ties, labels holding both classes."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

# Tolerances of the eval tests. textsiam.eval is numpy in float64 without torch, so torch's CPU kernel choice
# (ATEN_CPU_CAPABILITY, oneDNN) never reaches it. Our metric and the scikit-learn / scipy / brute-force reference
# compute the same ratio of counts or the same statistic by another formula or order: they agree to a few float64
# ulps (2.2e-16 each). SAME_RATIO: the same division of the same integer counts, or a threshold halfway between two
# given floats (< 1e-15 apart). SAME_STATISTIC: another summation order or formula for a float64 statistic (AUC by rank
# sums vs trapezoids, a correlation, a mean of means) over at most 10^4 values: ~1e-12 relative; 1e-6 is still far
# below the smallest real difference a metric can show on these inputs (one pair of at most 500: 2e-3).
SAME_RATIO = 1e-12
SAME_STATISTIC = 1e-6


@st.composite
def tied_pairs(draw, max_n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Scores drawn from a few distinct values (so ties are common) and 0/1 labels with both classes."""
    n = draw(st.integers(2, max_n))
    pool = draw(st.lists(st.floats(-50, 50, allow_nan=False, width=32), min_size=1, max_size=8, unique=True))
    scores = np.asarray(draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)), dtype=np.float64)
    labels = np.asarray(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.float64)
    assume(0 < labels.sum() < n)
    return scores, labels


def brute_force_candidates(scores: np.ndarray) -> np.ndarray:
    """Every threshold worth trying, built independently of the library: midpoints and both ends."""
    levels = np.unique(scores)
    mids = (levels[:-1] + levels[1:]) / 2
    return np.r_[levels[0] - 1.0, mids, levels[-1] + 1.0]


def rates(scores: np.ndarray, labels: np.ndarray, t: float) -> dict:
    """Metrics of the rule ``score >= t`` by direct counting."""
    pred, y = scores >= t, labels == 1
    tp, fp = np.sum(pred & y), np.sum(pred & ~y)
    fn, tn = np.sum(~pred & y), np.sum(~pred & ~y)
    return {
        "accuracy": (tp + tn) / len(y),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "tpr": tp / (tp + fn),
        "fpr": fp / (fp + tn),
    }
