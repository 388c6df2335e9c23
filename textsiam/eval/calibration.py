"""Turn similarity scores into match probabilities (Platt scaling, isotonic regression) and measure calibration.

Both calibrators store plain numbers (``to_dict``) and are rebuilt from them (``from_dict``) without pickle, so a
saved ``decision.json`` is safe to load from anywhere.
"""

from __future__ import annotations

import numpy as np

from textsiam.errors import ConfigError, DataError
from textsiam.eval.metrics import check_binary_labels, check_both_classes, check_scores
from textsiam.registry import CALIBRATORS

__all__ = [
    "IsotonicCalibrator",
    "PlattCalibrator",
    "brier_score",
    "build_calibrator",
    "calibrator_from_dict",
    "expected_calibration_error",
    "reliability_curve",
]


def _check_fit_data(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    check_both_classes(y, "calibration")
    return s, y


def _check_params(d: dict, name: str, keys: tuple[str, ...]) -> dict:
    if not isinstance(d, dict) or d.get("name") != name or not isinstance(d.get("params"), dict):
        raise DataError(f"expected a calibrator dict {{'name': {name!r}, 'params': {{...}}}}, got {d!r}")
    missing = [k for k in keys if k not in d["params"]]
    if missing:
        raise DataError(f"{name} calibrator parameters lack {missing}; got keys {sorted(d['params'])}")
    return d["params"]


@CALIBRATORS.register("platt")
class PlattCalibrator:
    """Platt scaling: ``p = 1 / (1 + exp(-(a * score + b)))``, fitted by logistic regression on the score.

    Uses Platt's (1999) smoothed targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)`` instead of 1 and 0, so that
    perfectly separated scores still give finite parameters; there is no other regularisation.
    """

    def __init__(self) -> None:
        self.a_: float | None = None
        self.b_: float | None = None

    def fit(self, scores, labels) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        s, y = _check_fit_data(scores, labels)
        n_pos, n_neg = y.sum(), y.shape[0] - y.sum()
        soft = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
        mu, sd = float(s.mean()), float(s.std()) or 1.0  # standardise for the solver; mapped back below
        x = ((s - mu) / sd).reshape(-1, 1)
        # a soft target t is the same likelihood as a positive copy of the row weighted t plus a negative weighted 1-t
        x2, y2, w2 = np.vstack([x, x]), np.r_[np.ones_like(y), np.zeros_like(y)], np.r_[soft, 1 - soft]
        model = LogisticRegression(C=np.inf, max_iter=1000).fit(x2, y2, sample_weight=w2)
        a_std, b_std = float(model.coef_[0, 0]), float(model.intercept_[0])
        self.a_, self.b_ = a_std / sd, b_std - a_std * mu / sd
        return self

    def predict_proba(self, scores) -> np.ndarray:
        if self.a_ is None:
            raise RuntimeError("PlattCalibrator is not fitted; call fit(scores, labels) or from_dict(params) first")
        z = self.a_ * check_scores(scores) + self.b_
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, without overflow for large |z|

    def to_dict(self) -> dict:
        return {"name": CALIBRATORS.name_of(self), "params": {"a": self.a_, "b": self.b_}}

    @classmethod
    def from_dict(cls, d: dict) -> PlattCalibrator:
        params = _check_params(d, CALIBRATORS.name_of(cls), ("a", "b"))
        out = cls()
        out.a_, out.b_ = float(params["a"]), float(params["b"])
        return out


@CALIBRATORS.register("isotonic")
class IsotonicCalibrator:
    """Isotonic regression: the best non-decreasing step-wise-linear map from score to probability.

    Scores outside the fitted range are clipped to its ends (``out_of_bounds="clip"``). Predictions always come from
    ``np.interp`` over the stored thresholds, which is what scikit-learn computes, so a calibrator rebuilt with
    ``from_dict`` gives exactly the same probabilities.
    """

    def __init__(self) -> None:
        self.x_thresholds_: np.ndarray | None = None
        self.y_thresholds_: np.ndarray | None = None

    def fit(self, scores, labels) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        s, y = _check_fit_data(scores, labels)
        model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(s, y)
        self.x_thresholds_ = np.asarray(model.X_thresholds_, dtype=np.float64)
        self.y_thresholds_ = np.asarray(model.y_thresholds_, dtype=np.float64)
        return self

    def predict_proba(self, scores) -> np.ndarray:
        if self.x_thresholds_ is None:
            raise RuntimeError("IsotonicCalibrator is not fitted; call fit(scores, labels) or from_dict(params) first")
        return np.interp(check_scores(scores), self.x_thresholds_, self.y_thresholds_)

    def to_dict(self) -> dict:
        x = None if self.x_thresholds_ is None else self.x_thresholds_.tolist()
        y = None if self.y_thresholds_ is None else self.y_thresholds_.tolist()
        return {"name": CALIBRATORS.name_of(self), "params": {"x_thresholds": x, "y_thresholds": y}}

    @classmethod
    def from_dict(cls, d: dict) -> IsotonicCalibrator:
        params = _check_params(d, CALIBRATORS.name_of(cls), ("x_thresholds", "y_thresholds"))
        x = check_scores(params["x_thresholds"], "x_thresholds")
        y = check_scores(params["y_thresholds"], "y_thresholds")
        if x.shape != y.shape or x.shape[0] == 0 or np.any(np.diff(x) <= 0) or np.any(np.diff(y) < 0):
            raise DataError(
                "isotonic parameters must be two equally long, non-empty lists: x_thresholds strictly increasing "
                f"and y_thresholds non-decreasing; got lengths {x.shape[0]} and {y.shape[0]}"
            )
        out = cls()
        out.x_thresholds_, out.y_thresholds_ = x, y
        return out


def build_calibrator(name: str) -> PlattCalibrator | IsotonicCalibrator:
    """A new, unfitted calibrator by name (``textsiam list calibrators``: platt, isotonic)."""
    return CALIBRATORS.build(name)


def calibrator_from_dict(d: dict) -> PlattCalibrator | IsotonicCalibrator:
    """Rebuild a fitted calibrator from ``to_dict()`` output, dispatching on its ``name``."""
    if not isinstance(d, dict) or "name" not in d:
        raise DataError(f"expected a calibrator dict {{'name': ..., 'params': {{...}}}}, got {d!r}")
    return CALIBRATORS.get(d["name"]).from_dict(d)


def _check_probs(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    p = check_scores(probs, "probs")
    y = check_scores(labels, "labels")
    if y.shape != p.shape:
        raise DataError(f"probs and labels must have the same length, got {p.shape[0]} and {y.shape[0]}")
    if p.shape[0] == 0:
        raise DataError("calibration metrics need at least one pair, got none")
    for name, arr in (("probs", p), ("labels", y)):
        bad = np.flatnonzero((arr < 0) | (arr > 1))
        if bad.size:
            raise DataError(f"{name} must lie in [0, 1], but {name}[{bad[0]}] = {arr[bad[0]]}")
    return p, y


def brier_score(probs, labels) -> float:
    """Mean squared difference between predicted probability and the 0/1 outcome (lower is better)."""
    p, y = _check_probs(probs, labels)
    return float(np.mean((p - y) ** 2))


def reliability_curve(probs, labels, n_bins: int = 10) -> dict:
    """Per equal-width probability bin: mean predicted probability, observed fraction of matches, and count.

    Empty bins are left out. ``bin_edges`` has ``n_bins + 1`` values; a probability of exactly 1 falls in the last bin.
    """
    p, y = _check_probs(probs, labels)
    if n_bins < 1:
        raise ConfigError(f"n_bins must be a positive integer, got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    keep = counts > 0
    mean_pred = np.bincount(which, weights=p, minlength=n_bins)[keep] / counts[keep]
    frac_pos = np.bincount(which, weights=y, minlength=n_bins)[keep] / counts[keep]
    return {"mean_predicted": mean_pred, "fraction_positive": frac_pos, "count": counts[keep], "bin_edges": edges}


def expected_calibration_error(probs, labels, n_bins: int = 10) -> float:
    """ECE (Naeini et al., 2015): the count-weighted mean |observed - predicted| over equal-width bins."""
    curve = reliability_curve(probs, labels, n_bins)
    gaps = np.abs(curve["fraction_positive"] - curve["mean_predicted"])
    return float(np.sum(gaps * curve["count"]) / np.sum(curve["count"]))
