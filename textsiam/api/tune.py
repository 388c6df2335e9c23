"""``tune_threshold``: a decision threshold (and optionally a calibrator) chosen on held-out pairs, saved with the
model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textsiam.api.common import built_model, check_batch_size, device_of, pair_data
from textsiam.atomic import check_folder
from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.eval.decision import Decision
from textsiam.models.base import PairModel
from textsiam.train.config import check_seed
from textsiam.train.decide import check_decision_names, tune_decision


def tune_threshold(
    model: PairModel | str | Path,
    data: PairData | str | Path,
    strategy: str = "youden",
    target: float | None = None,
    calibrate: str | None = None,
    cv: int = 5,
    bootstrap: int = 0,
    seed: int = 0,
    batch_size: int = 64,
    show_progress: bool = False,
    *,
    device: str | None = None,
    save_to: str | Path | None = None,
    **read: Any,
) -> Decision:
    """Choose a threshold (and optionally a calibrator) on held-out ``data``; sets and returns ``model.decision``.

    The decision's metrics are k-fold held-out estimates (``cv`` folds over ``data``), not the optimistic in-sample
    numbers; ``bootstrap`` adds confidence intervals. ``save_to`` saves the model with its decision in that folder;
    without it a saved model folder given by path gets ``decision.json`` in place."""
    from textsiam.models.io import is_model_folder, save_model

    on = device_of(device)  # an unknown device is the first error, as in every command
    check_decision_names(strategy, calibrate)
    check_seed(seed)
    check_batch_size(batch_size)
    in_place = not isinstance(model, PairModel) and is_model_folder(model)
    if save_to is None and not isinstance(model, PairModel) and not in_place:
        raise ConfigError(f"{model!r} is not a saved model folder: pass --out DIR to save a copy with the decision")
    if save_to is not None:
        check_folder(save_to)
    data = pair_data(data, read)
    built = built_model(model, on)
    decision = tune_decision(
        built, data, strategy, target, calibrate, cv, bootstrap, seed, batch_size, show_progress=show_progress
    )
    if save_to is not None:
        save_model(built, save_to)
    elif in_place:
        decision.to_json(Path(model) / "decision.json")
    return decision
