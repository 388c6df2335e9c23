"""Tune a model's decision (threshold, optional calibrator) on held-out labelled pairs."""

from __future__ import annotations

import numpy as np

from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.eval.decision import Decision, fit_decision
from textsiam.models.base import PairModel
from textsiam.names import check_name
from textsiam.train.config import check_seed


def tune_decision(
    model: PairModel,
    data: PairData,
    strategy: str = "youden",
    target: float | None = None,
    calibrate: str | None = None,
    cv: int = 5,
    bootstrap: int = 0,
    seed: int = 0,
    batch_size: int = 64,
    show_progress: bool = False,
) -> Decision:
    """Choose a threshold (and optionally a calibrator) on held-out ``data``; sets and returns ``model.decision``.

    The decision's metrics are k-fold held-out estimates (``cv`` folds over ``data``: chosen on k-1 folds, measured
    on the last), so they are not the optimistic in-sample numbers; ``bootstrap`` adds confidence intervals.

    A model with ``held_out_pairs()`` (ridge-map fitted with cross-validation and ``threshold_from_cv``) adds its
    out-of-fold training match pairs to ``data``'s pairs: each was scored by a fold model that never saw its images,
    so they are held-out scores (training pairs scored by the final model never are: it fits them)."""
    check_decision_names(strategy, calibrate)
    check_seed(seed)
    if data.label_kind != "binary":
        raise ConfigError(f"{data.source}: threshold tuning needs binary 0/1 labels, this data is {data.label_kind!r}")
    scores = model.similarity_scores(data.a, data.b, batch_size=batch_size, show_progress=show_progress)
    labels = np.asarray(data.labels, dtype=float)
    fingerprint = data.fingerprint()
    held_out = model.held_out_pairs()
    if held_out is not None:  # out-of-fold pairs of a cross-validated closed-form fit (ridge-map): held-out scores
        scores, labels = np.concatenate([np.asarray(scores, dtype=float), held_out[0]]), np.r_[labels, held_out[1]]
        fingerprint = {**fingerprint, "plus_out_of_fold_training_pairs": len(held_out[1])}
    model.decision = fit_decision(
        scores,
        labels,
        strategy,
        target=target,
        calibrate=calibrate,
        data=fingerprint,
        score_name=model.score_name,
        cv=cv,
        bootstrap=bootstrap,
        seed=seed,
    )
    return model.decision


def check_decision_names(strategy: str | None, calibrate: str | None) -> None:
    check_name("strategies", strategy)
    check_name("calibrators", calibrate)
