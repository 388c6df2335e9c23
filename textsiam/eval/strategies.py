"""Threshold strategies, registered in ``STRATEGIES``: which candidate thresholds are optimal for each.

A strategy is a :class:`ThresholdStrategy`: ``best(candidates, target)`` narrows the operating points of
:func:`textsiam.eval.threshold.threshold_candidates` to the optimal ones, compared exactly on integer counts
(lexicographic objectives), so ties are exact; ``select_threshold`` then takes the middle of the tied ones.
Adding a strategy is one decorated function here plus its contract recipe (tests/test_registry_contract.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from textsiam.registry import STRATEGIES

__all__ = ["ThresholdStrategy"]

Candidates = dict[str, np.ndarray]


@dataclass(frozen=True)
class ThresholdStrategy:
    """A registered threshold strategy: which candidates are optimal, its help text, and what its target means.

    ``best(candidates, target)`` returns the mask of the optimal candidates (see the module doc). ``target``
    describes the ``target=`` value a strategy needs (None: it takes none). ``extra`` adds strategy-specific
    metrics at the chosen threshold.
    """

    best: Callable[[Candidates, float | None], np.ndarray]
    help: str
    target: str | None = None
    extra: Callable[[dict], dict] | None = None

    @property
    def needs_target(self) -> bool:
        return self.target is not None


def _strategy(name: str, help: str, target: str | None = None, extra: Callable[[dict], dict] | None = None):
    """Register the decorated ``best`` function as the strategy ``name`` (the function itself is returned)."""

    def add(best: Callable[[Candidates, float | None], np.ndarray]) -> Callable:
        STRATEGIES.register(name, ThresholdStrategy(best, help, target, extra), description=help)
        return best

    return add


def _counts(c: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    return tp, fp, tn, fn, int(tp[-1] + fn[-1]), int(fp[-1] + tn[-1])


def _every(c: Candidates) -> np.ndarray:
    return np.ones(c["tp"].shape[0], dtype=bool)


@_strategy("youden", "max TPR - FPR (Youden's J)")
def _youden(c: Candidates, target: float | None) -> np.ndarray:
    tp, fp, _, _, n_pos, n_neg = _counts(c)
    return _keep_best(_every(c), tp * n_neg - fp * n_pos)  # (TPR - FPR) * P * N


@_strategy("max-accuracy", "max accuracy")
def _max_accuracy(c: Candidates, target: float | None) -> np.ndarray:
    return _keep_best(_every(c), c["tp"] + c["tn"])


@_strategy("max-f1", "max F1 of the match class")
def _max_f1(c: Candidates, target: float | None) -> np.ndarray:
    tp, fp, _, fn, _, _ = _counts(c)
    return _keep_best(_every(c), 2 * tp, 2 * tp + fp + fn)


def _eer_metric(metrics: dict) -> dict:
    return {"eer": (metrics["fpr"] + (1.0 - metrics["tpr"])) / 2}  # mean of FPR and FNR where they are closest


@_strategy("eer", "equal error rate: FPR closest to FNR (also reports eer)", extra=_eer_metric)
def _eer(c: Candidates, target: float | None) -> np.ndarray:
    tp, fp, _, fn, n_pos, n_neg = _counts(c)
    return _keep_best(_every(c), -np.abs(fp * n_pos - fn * n_neg))  # -|FPR - FNR| * P * N


@_strategy("tpr-at-fpr", "highest TPR with FPR <= target", target="the largest false positive rate allowed")
def _tpr_at_fpr(c: Candidates, target: float | None) -> np.ndarray:
    tp, fp, _, _, _, n_neg = _counts(c)
    allowed = fp / n_neg <= target  # the same division as the reported fpr, so the two always agree
    return _keep_best(_keep_best(allowed, tp), -fp)  # highest TPR, then the lowest FPR among those


@_strategy("precision-at-recall", "highest precision with recall >= target", target="the recall to keep")
def _precision_at_recall(c: Candidates, target: float | None) -> np.ndarray:
    tp, fp, _, _, n_pos, _ = _counts(c)
    allowed = tp / n_pos >= target  # computed as the reported recall is
    return _keep_best(_keep_best(allowed, tp, np.maximum(tp + fp, 1)), tp)  # highest precision, then highest recall


def _keep_best(mask: np.ndarray, num: np.ndarray, den: np.ndarray | int = 1) -> np.ndarray:
    """Narrow ``mask`` to the candidates maximising ``num / den``, compared exactly by integer cross-multiplication."""
    den = np.broadcast_to(np.asarray(den, dtype=np.int64), num.shape)
    idx = np.flatnonzero(mask)
    best = idx[np.argmax(num[idx] / den[idx])]
    return mask & (num * den[best] == num[best] * den)
