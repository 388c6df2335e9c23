"""Choose a decision threshold on similarity scores from ROC / precision-recall operating points.

Candidates are built from the sorted distinct scores: one threshold above the highest score (nothing is a match), one
at the midpoint between each pair of adjacent distinct scores, and one below the lowest score (everything is a match).
Every candidate therefore sits strictly between distinct scores, so ties are never split and applying the chosen
threshold with ``score >= threshold`` reproduces exactly the metrics that were optimised. This is the same set of
operating points as scikit-learn's ``roc_curve(..., drop_intermediate=False)``.

Tie-break: when several candidates are equally good (compared exactly on integer counts, not floats), the middle one
in threshold order is chosen; with an even number of tied candidates, the higher threshold of the middle two (the more
conservative one, with fewer predicted matches). The result depends only on the multiset of (score, label) pairs, so
it does not depend on input order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from textsiam.eval.metrics import check_binary_labels, check_both_classes, check_scores, confusion_at

__all__ = [
    "STRATEGIES",
    "CVThresholdResult",
    "ThresholdResult",
    "bootstrap_ci",
    "select_threshold",
    "select_threshold_cv",
    "threshold_candidates",
]

STRATEGIES = ("youden", "max-accuracy", "max-f1", "eer", "tpr-at-fpr", "precision-at-recall")
_NEEDS_TARGET = {"tpr-at-fpr": "the largest false positive rate allowed", "precision-at-recall": "the recall to keep"}
_REPORTED = ("accuracy", "f1", "precision", "recall", "tpr", "fpr")


@dataclass(frozen=True)
class ThresholdResult:
    """A chosen threshold and the metrics obtained by applying it (``score >= threshold``) to the data it came from."""

    strategy: str
    target: float | None
    threshold: float
    metrics: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CVThresholdResult:
    """Threshold chosen on all data; metrics averaged over held-out folds (each fold's threshold chosen without it)."""

    strategy: str
    target: float | None
    threshold: float
    metrics: dict
    k: int
    seed: int
    fold_thresholds: list = field(default_factory=list)
    fold_metrics: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _check_strategy(strategy: str, target: float | None) -> float | None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown threshold strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    if strategy in _NEEDS_TARGET:
        if target is None:
            raise ValueError(f"strategy {strategy!r} needs target= ({_NEEDS_TARGET[strategy]}), a number in [0, 1]")
        target = float(target)
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"target for {strategy!r} must be in [0, 1], got {target}")
        return target
    if target is not None:
        raise ValueError(f"strategy {strategy!r} takes no target (got {target}); only {', '.join(_NEEDS_TARGET)} do")
    return None


def _place_thresholds(levels: np.ndarray) -> np.ndarray:
    """Thresholds for distinct scores sorted descending: above the max, midpoints, below the min (m + 1 values)."""
    m = levels.shape[0]
    out = np.empty(m + 1, dtype=np.float64)
    if m > 1:
        hi, lo = levels[:-1], levels[1:]
        mid = hi / 2 + lo / 2
        out[1:m] = np.where(mid > lo, mid, hi)  # adjacent floats: the midpoint rounds onto lo, so use hi (still splits)
    offset = (levels[0] - levels[-1]) / (m - 1) if m > 1 else 1.0  # the mean gap keeps end thresholds on scale
    top, bottom = levels[0] + offset, levels[-1] - offset
    out[0] = top if np.isfinite(top) and top > levels[0] else np.nextafter(levels[0], np.inf)
    out[m] = bottom if np.isfinite(bottom) and bottom < levels[-1] else np.nextafter(levels[-1], -np.inf)
    return out


def threshold_candidates(scores, labels) -> dict[str, np.ndarray]:
    """Every distinct operating point: candidate ``threshold`` (descending) with its counts and rates.

    Candidate ``i`` predicts a match for the ``i`` highest distinct score levels.
    """
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    check_both_classes(y, "threshold selection")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order].astype(np.int64)
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s.shape[0] - 1]  # last row of each distinct level
    tp = np.r_[0, np.cumsum(y_sorted)[last]].astype(np.int64)
    fp = np.r_[0, last + 1].astype(np.int64) - tp
    n_pos, n_neg = int(y_sorted.sum()), int(s.shape[0] - y_sorted.sum())
    fn, tn = n_pos - tp, n_neg - fp
    predicted = np.maximum(tp + fp, 1)
    return {
        "threshold": _place_thresholds(s_sorted[last]),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "accuracy": (tp + tn) / s.shape[0],
        "f1": 2 * tp / (2 * tp + fp + fn),
        "precision": np.where(tp + fp > 0, tp / predicted, 0.0),
        "recall": tp / n_pos,
        "tpr": tp / n_pos,
        "fpr": fp / n_neg,
    }


def _keep_best(mask: np.ndarray, num: np.ndarray, den: np.ndarray | int = 1) -> np.ndarray:
    """Narrow ``mask`` to the candidates maximising ``num / den``, compared exactly by integer cross-multiplication."""
    den = np.broadcast_to(np.asarray(den, dtype=np.int64), num.shape)
    idx = np.flatnonzero(mask)
    best = idx[np.argmax(num[idx] / den[idx])]
    return mask & (num * den[best] == num[best] * den)


def _best_mask(c: dict, strategy: str, target: float | None) -> np.ndarray:
    """Candidates that are optimal for ``strategy`` (lexicographic integer objectives, so ties are exact)."""
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    n_pos, n_neg = int(tp[-1] + fn[-1]), int(fp[-1] + tn[-1])
    every = np.ones(tp.shape[0], dtype=bool)
    if strategy == "youden":
        return _keep_best(every, tp * n_neg - fp * n_pos)  # (TPR - FPR) * P * N
    if strategy == "max-accuracy":
        return _keep_best(every, tp + tn)
    if strategy == "max-f1":
        return _keep_best(every, 2 * tp, 2 * tp + fp + fn)
    if strategy == "eer":
        return _keep_best(every, -np.abs(fp * n_pos - fn * n_neg))  # -|FPR - FNR| * P * N
    if strategy == "tpr-at-fpr":
        allowed = fp / n_neg <= target  # the same division as the reported fpr, so the two always agree
        return _keep_best(_keep_best(allowed, tp), -fp)  # highest TPR, then the lowest FPR among those
    allowed = tp / n_pos >= target  # recall >= target (precision-at-recall), computed as the reported recall is
    return _keep_best(_keep_best(allowed, tp, np.maximum(tp + fp, 1)), tp)  # highest precision, then highest recall


def _apply(scores: np.ndarray, labels: np.ndarray, threshold: float, strategy: str) -> dict:
    metrics = confusion_at(scores, labels, threshold)
    if strategy == "eer":
        metrics["eer"] = (metrics["fpr"] + (1.0 - metrics["tpr"])) / 2  # mean of FPR and FNR where they are closest
    return metrics


def select_threshold(scores, labels, strategy: str = "youden", target: float | None = None) -> ThresholdResult:
    """Choose the threshold that is best for ``strategy`` on ``(scores, labels)``; see the module doc for ties.

    Strategies: ``youden`` (max TPR - FPR), ``max-accuracy``, ``max-f1``, ``eer`` (FPR closest to FNR; also reports
    ``eer``), ``tpr-at-fpr`` (highest TPR with FPR <= target), ``precision-at-recall`` (highest precision with
    recall >= target).
    """
    target = _check_strategy(strategy, target)
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    c = threshold_candidates(s, y)
    tied = np.flatnonzero(_best_mask(c, strategy, target))
    i = int(tied[(tied.shape[0] - 1) // 2])
    threshold = float(c["threshold"][i])
    metrics = _apply(s, y, threshold, strategy)
    assert metrics["tp"] == c["tp"][i] and metrics["fp"] == c["fp"][i], "threshold does not reproduce its candidate"
    return ThresholdResult(strategy=strategy, target=target, threshold=threshold, metrics=metrics)


def select_threshold_cv(
    scores, labels, strategy: str = "youden", target: float | None = None, k: int = 5, seed: int = 0
) -> CVThresholdResult:
    """Stratified k-fold estimate of how a threshold chosen by ``strategy`` does on unseen pairs.

    Each fold's threshold is chosen on the other k - 1 folds and applied to it; ``metrics`` is the mean over folds.
    The returned ``threshold`` is the one chosen on all data (what to deploy). Use it when there is no separate dev
    file: metrics measured on the data the threshold was tuned on are optimistic.
    """
    from sklearn.model_selection import StratifiedKFold

    target = _check_strategy(strategy, target)
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    check_both_classes(y, "select_threshold_cv")
    n_pos, n_neg = int(y.sum()), int(s.shape[0] - y.sum())
    if k < 2 or min(n_pos, n_neg) < k:
        raise ValueError(
            f"{k}-fold cross-validation needs k >= 2 and at least k pairs of each class, got {n_pos} matches and "
            f"{n_neg} non-matches; lower k (at most {min(n_pos, n_neg)})"
        )
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(s.reshape(-1, 1), y)
    thresholds, fold_metrics = [], []
    for fit_idx, held_idx in folds:
        t = select_threshold(s[fit_idx], y[fit_idx], strategy, target).threshold
        thresholds.append(t)
        fold_metrics.append(_apply(s[held_idx], y[held_idx], t, strategy))
    keys = _REPORTED + (("eer",) if strategy == "eer" else ())
    metrics = {"n": int(s.shape[0]), **{key: float(np.mean([m[key] for m in fold_metrics])) for key in keys}}
    full = select_threshold(s, y, strategy, target)
    return CVThresholdResult(strategy, target, full.threshold, metrics, k, seed, thresholds, fold_metrics)


def bootstrap_ci(
    scores,
    labels,
    strategy: str = "youden",
    target: float | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict:
    """Percentile bootstrap confidence intervals for the threshold and its metrics.

    Each resample (pairs drawn with replacement) re-selects its own threshold, so the intervals include the
    variability of the selection itself. Resamples holding a single class are skipped and counted in ``n_skipped``.
    Returns ``{"alpha", "n_boot", "n_skipped", "estimate": ThresholdResult dict, "intervals": {name: [low, high]}}``.
    """
    target = _check_strategy(strategy, target)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}; 0.05 gives a 95% interval")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive number of resamples, got {n_boot}")
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    estimate = select_threshold(s, y, strategy, target)
    rng = np.random.default_rng(seed)
    keys = ("threshold",) + _REPORTED + (("eer",) if strategy == "eer" else ())
    draws: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(n_boot):
        idx = rng.integers(0, s.shape[0], s.shape[0])
        if y[idx].min() == y[idx].max():
            continue
        res = select_threshold(s[idx], y[idx], strategy, target)
        for key in keys:
            draws[key].append(res.threshold if key == "threshold" else res.metrics[key])
    n_used = len(draws["threshold"])
    if n_used == 0:
        raise ValueError("every bootstrap resample held a single class; there are too few pairs of one class")
    q = [alpha / 2, 1 - alpha / 2]
    intervals = {key: [float(v) for v in np.quantile(np.asarray(vals), q)] for key, vals in draws.items()}
    return {
        "alpha": alpha,
        "n_boot": n_boot,
        "n_skipped": n_boot - n_used,
        "estimate": estimate.to_dict(),
        "intervals": intervals,
    }
