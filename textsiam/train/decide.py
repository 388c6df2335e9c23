"""Tune a model's decision (threshold, optional calibrator) on held-out labelled pairs."""

from __future__ import annotations

from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.eval.decision import Decision, fit_decision
from textsiam.models.base import PairModel
from textsiam.train.names import check_name


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
    on the last), so they are not the optimistic in-sample numbers; ``bootstrap`` adds confidence intervals."""
    check_decision_names(strategy, calibrate)
    if data.label_kind != "binary":
        raise ConfigError(f"{data.source}: threshold tuning needs binary 0/1 labels, this data is {data.label_kind!r}")
    scores = model.similarity_scores(data.a, data.b, batch_size=batch_size, show_progress=show_progress)
    model.decision = fit_decision(
        scores,
        data.labels,
        strategy,
        target=target,
        calibrate=calibrate,
        data=data.fingerprint(),
        score_name=model.score_name,
        cv=cv,
        bootstrap=bootstrap,
        seed=seed,
    )
    return model.decision


def check_decision_names(strategy: str | None, calibrate: str | None) -> None:
    check_name("strategies", strategy)
    check_name("calibrators", calibrate)
