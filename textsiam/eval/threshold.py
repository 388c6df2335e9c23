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

from textsiam.errors import ConfigError, DataError
from textsiam.eval.metrics import check_binary_labels, check_both_classes, check_scores, confusion_at
from textsiam.eval.strategies import ThresholdStrategy
from textsiam.registry import STRATEGIES

__all__ = [
    "STRATEGIES",
    "CVThresholdResult",
    "ThresholdStrategy",
    "ThresholdResult",
    "bootstrap_ci",
    "select_threshold",
    "select_threshold_cv",
    "threshold_candidates",
]

_REPORTED = ("accuracy", "f1", "precision", "recall", "tpr", "fpr")
_COUNTS = ("n", "tp", "fp", "tn", "fn")


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
    needs = STRATEGIES.get(strategy).target
    if needs is not None:
        if target is None:
            raise ConfigError(f"strategy {strategy!r} needs target= ({needs}), a number in [0, 1]")
        target = float(target)
        if not 0.0 <= target <= 1.0:
            raise ConfigError(f"target for {strategy!r} must be in [0, 1], got {target}")
        return target
    if target is not None:
        takers = [name for name in STRATEGIES.names() if STRATEGIES.get(name).target is not None]
        raise ConfigError(f"strategy {strategy!r} takes no target (got {target}); only {', '.join(takers)} do")
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


def _apply(scores: np.ndarray, labels: np.ndarray, threshold: float, strategy: str) -> dict:
    metrics = confusion_at(scores, labels, threshold)
    extra = STRATEGIES.get(strategy).extra
    return {**metrics, **extra(metrics)} if extra is not None else metrics


def _reported(metrics: dict) -> tuple[str, ...]:
    """The rates to average or resample: the usual ones plus the strategy's extra metrics (eer) in ``metrics``."""
    return _REPORTED + tuple(k for k in metrics if k not in _REPORTED + _COUNTS)


def select_threshold(scores, labels, strategy: str = "youden", target: float | None = None) -> ThresholdResult:
    """Choose the threshold that is best for ``strategy`` on ``(scores, labels)``; see the module doc for ties.

    Strategies (``STRATEGIES``, defined in ``textsiam.eval.strategies``): ``youden`` (max TPR - FPR),
    ``max-accuracy``, ``max-f1``, ``eer`` (FPR closest to FNR; also reports ``eer``), ``tpr-at-fpr`` (highest TPR
    with FPR <= target), ``precision-at-recall`` (highest precision with recall >= target).
    """
    target = _check_strategy(strategy, target)
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    c = threshold_candidates(s, y)
    tied = np.flatnonzero(STRATEGIES.get(strategy).best(c, target))
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
        raise DataError(
            f"{k}-fold cross-validation needs k >= 2 and at least k pairs of each class, got {n_pos} matches and "
            f"{n_neg} non-matches; lower k (at most {min(n_pos, n_neg)})"
        )
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(s.reshape(-1, 1), y)
    thresholds, fold_metrics = [], []
    for fit_idx, held_idx in folds:
        t = select_threshold(s[fit_idx], y[fit_idx], strategy, target).threshold
        thresholds.append(t)
        fold_metrics.append(_apply(s[held_idx], y[held_idx], t, strategy))
    keys = _reported(fold_metrics[0])
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
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}; 0.05 gives a 95% interval")
    if n_boot < 1:
        raise ConfigError(f"n_boot must be a positive number of resamples, got {n_boot}")
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    estimate = select_threshold(s, y, strategy, target)
    rng = np.random.default_rng(seed)
    keys = ("threshold",) + _reported(estimate.metrics)
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
        raise DataError("every bootstrap resample held a single class; there are too few pairs of one class")
    q = [alpha / 2, 1 - alpha / 2]
    intervals = {key: [float(v) for v in np.quantile(np.asarray(vals), q)] for key, vals in draws.items()}
    return {
        "alpha": alpha,
        "n_boot": n_boot,
        "n_skipped": n_boot - n_used,
        "estimate": estimate.to_dict(),
        "intervals": intervals,
    }
