"""A saved decision rule: the threshold that turns a similarity score into match / no match, and optionally a
calibrator that turns it into a probability. Stored as ``decision.json`` next to a model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from textsiam.atomic import atomic_write_text
from textsiam.errors import DataError, NoDecisionError
from textsiam.eval.calibration import brier_score, build_calibrator, calibrator_from_dict, expected_calibration_error
from textsiam.eval.metrics import check_binary_labels, check_scores
from textsiam.eval.threshold import bootstrap_ci, select_threshold, select_threshold_cv

__all__ = ["Decision", "fit_decision"]

_FORMAT_VERSION = 1


@dataclass
class Decision:
    """Threshold (``score >= threshold`` means a match), how it was chosen, and an optional calibrator.

    ``metrics`` are held-out estimates where there was enough data (see ``fit_decision``); ``data`` identifies the
    file it was tuned on (``{"file", "rows", "sha256"}``); ``score`` names the similarity the threshold applies to.
    """

    strategy: str
    threshold: float
    target: float | None = None
    metrics: dict = field(default_factory=dict)
    calibrator: dict | None = None
    data: dict | None = None
    score: str = "cosine"

    def predict(self, scores) -> np.ndarray:
        """Boolean match decision per score."""
        return check_scores(scores) >= self.threshold

    def predict_proba(self, scores) -> np.ndarray:
        """Calibrated match probability per score; needs a decision fitted with a calibrator."""
        if self.calibrator is None:
            raise NoDecisionError(
                "this decision has a threshold but no calibrator, so it cannot give probabilities; "
                "run `textsiam tune-threshold ... --calibrate platt` (or isotonic) to fit one"
            )
        return calibrator_from_dict(self.calibrator).predict_proba(scores)

    def to_dict(self) -> dict:
        return {"format_version": _FORMAT_VERSION, **asdict(self)}

    def to_json(self, path: str | Path) -> Path:
        """Write atomically (temp file in the same folder, then ``os.replace``) so readers never see half a file."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        return atomic_write_text(path, text)

    @classmethod
    def from_dict(cls, d: dict, path: str | Path | None = None) -> Decision:
        where = str(path) if path is not None else None
        if not isinstance(d, dict):
            raise DataError(f"a decision must be a JSON object, got {type(d).__name__}", path=where)
        version = d.get("format_version", _FORMAT_VERSION)
        if version != _FORMAT_VERSION:
            raise DataError(f"unsupported decision format_version {version!r}; this textsiam reads 1", path=where)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"format_version"})
        if unknown:
            raise DataError(f"unknown decision keys {unknown}; known keys are {sorted(known)}", path=where)
        for key in ("strategy", "threshold"):
            if key not in d:
                raise DataError(f"decision lacks the required key {key!r}", path=where, column=key)
        threshold = d["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not np.isfinite(threshold):
            raise DataError(f"threshold must be a finite number, got {threshold!r}", path=where, column="threshold")
        if d.get("calibrator") is not None:
            try:
                calibrator_from_dict(d["calibrator"])
            except ValueError as err:
                raise DataError(f"bad calibrator: {err}", path=where, column="calibrator") from err
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_json(cls, path: str | Path) -> Decision:
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataError(f"not valid JSON ({err.msg} at line {err.lineno})", path=str(path), row=err.lineno) from err
        return cls.from_dict(d, path)


def _calibration_heldout(s: np.ndarray, y: np.ndarray, name: str, k: int, seed: int) -> dict:
    """Brier score and ECE of calibrators fitted on k - 1 folds and scored on the held-out one (pooled)."""
    from sklearn.model_selection import StratifiedKFold

    probs = np.empty_like(s)
    for fit_idx, held_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(s.reshape(-1, 1), y):
        probs[held_idx] = build_calibrator(name).fit(s[fit_idx], y[fit_idx]).predict_proba(s[held_idx])
    return {"brier": brier_score(probs, y), "ece": expected_calibration_error(probs, y)}


def fit_decision(
    scores,
    labels,
    strategy: str = "youden",
    target: float | None = None,
    calibrate: str | None = None,
    data: dict | None = None,
    score_name: str = "cosine",
    cv: int = 5,
    seed: int = 0,
    bootstrap: int = 0,
) -> Decision:
    """Choose a threshold (and fit a calibrator) on all pairs; estimate how they do on unseen pairs by k-fold CV.

    ``metrics`` holds the mean held-out metrics of ``select_threshold_cv`` (plus held-out ``brier`` and ``ece`` when
    calibrated) with ``evaluation`` = ``"{k}-fold cv"``; ``metrics["in_sample"]`` holds the metrics on all pairs.
    With fewer than 2 pairs of a class there is nothing to hold out: ``evaluation`` is then ``"in-sample"``.
    ``bootstrap`` > 0 adds ``metrics["bootstrap_ci"]``: 95% percentile intervals of the threshold and its metrics
    over that many resamples (the threshold re-selected on each).
    """
    s = check_scores(scores)
    y = check_binary_labels(labels, s.shape[0])
    chosen = select_threshold(s, y, strategy, target)
    calibrator = build_calibrator(calibrate).fit(s, y) if calibrate is not None else None
    in_sample = dict(chosen.metrics)
    if calibrator is not None:
        probs = calibrator.predict_proba(s)
        in_sample.update(brier=brier_score(probs, y), ece=expected_calibration_error(probs, y))
    k = min(cv, int(y.sum()), int(y.shape[0] - y.sum()))
    if k >= 2:
        metrics = dict(select_threshold_cv(s, y, strategy, target, k=k, seed=seed).metrics)
        if calibrate is not None:
            metrics.update(_calibration_heldout(s, y, calibrate, k, seed))
        metrics["evaluation"] = f"{k}-fold cv"
    else:
        metrics = {key: v for key, v in in_sample.items() if key not in ("tp", "fp", "tn", "fn")}
        metrics["evaluation"] = "in-sample"
    metrics["in_sample"] = in_sample
    if bootstrap:
        metrics["bootstrap_ci"] = bootstrap_ci(s, y, strategy, target, n_boot=bootstrap, seed=seed)["intervals"]
    return Decision(
        strategy=chosen.strategy,
        threshold=chosen.threshold,
        target=chosen.target,
        metrics=metrics,
        calibrator=calibrator.to_dict() if calibrator is not None else None,
        data=data,
        score=score_name,
    )
