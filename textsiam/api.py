"""The Python API that the CLI mirrors: load data, evaluate, score, tune a threshold, list components."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.data import PairData, read_pairs
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel
from textsiam.registry import ALL_REGISTRIES, DATASETS


def load_data(
    spec: str | Path,
    format: str | None = None,
    *,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    seed: int = 0,
    label_range: tuple[float, float] | None = None,
) -> PairData:
    """A file path (any supported format), or an embedded dataset (``DATASETS``) as ``NAME:SPLIT`` (digits:train)."""
    name, _, split = str(spec).partition(":")
    if name in DATASETS and not Path(str(spec)).exists():
        data = DATASETS.get(name)(split=split or "train", seed=seed)
        return data.select(range(min(limit, len(data)))) if limit else data
    return read_pairs(spec, format, text_a=text_a, text_b=text_b, label=label, limit=limit, label_range=label_range)


def score_pairs(model: PairModel, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, **kw: Any) -> np.ndarray:
    """Similarity score of each pair (higher = more similar)."""
    return model.similarity_scores(a, b, batch_size=batch_size, **kw)


def evaluate(
    model: PairModel, data: PairData, batch_size: int = 64, show_progress: bool = False
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of ``model`` on labelled ``data`` and the scores. Binary data also gets the at-threshold metrics
    (accuracy, F1, precision, recall) when the model carries a tuned decision."""
    from textsiam.train.evaluation import evaluate_scores

    scores = model.similarity_scores(data.a, data.b, batch_size=batch_size, show_progress=show_progress)
    threshold = model.decision.threshold if model.decision is not None else None
    metrics = evaluate_scores(scores, data, threshold=threshold if data.label_kind == "binary" else None)
    metrics["score"] = model.score_name
    return metrics, scores


def tune_threshold(
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
):
    """Choose a threshold (and optionally a calibrator) on held-out ``data``; sets and returns ``model.decision``.

    The decision's metrics are k-fold held-out estimates (``cv`` folds over ``data``: chosen on k-1 folds, measured
    on the last), so they are not the optimistic in-sample numbers; ``bootstrap`` adds confidence intervals."""
    from textsiam.eval.decision import fit_decision

    if data.label_kind != "binary":
        raise ValueError(f"{data.source}: threshold tuning needs binary 0/1 labels, this data is {data.label_kind!r}")
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


def list_components(kind: str | None = None) -> dict[str, dict[str, str]]:
    """``{registry kind: {name: one-line description}}``, for one kind or all."""
    if kind is None:
        return {k: r.describe() for k, r in ALL_REGISTRIES.items()}
    key = kind.replace("-", "_")
    if key not in ALL_REGISTRIES:
        raise ConfigError(f"unknown component kind {kind!r}; choose from {', '.join(ALL_REGISTRIES)}")
    return {key: ALL_REGISTRIES[key].describe()}
