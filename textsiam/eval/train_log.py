"""Read the trainer's JSONL log into the series the report plots.

Lines look like ``{"type": "step", "epoch": 1, "step": 10, "loss": 0.5, "lr": ...}`` and
``{"type": "eval", "epoch": 1, "step": 360, "metrics": {"spearman": ...}}``; lines of other types are ignored.
"""

from __future__ import annotations

import math
from pathlib import Path

from textsiam.errors import DataError
from textsiam.jsonlines import read_json_lines

__all__ = ["read_train_log"]


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


COUNTS = frozenset({"n", "tp", "fp", "tn", "fn"})
"""Eval entries that are counts, not metrics: plotted beside a [0, 1] metric they would flatten its curve."""


def read_train_log(path: str | Path) -> dict:
    """``{"steps", "losses"}`` from step lines and ``{"eval_x", "eval_xlabel", "evals"}`` from eval lines.

    ``evals`` maps each numeric dev metric to ``(x, values)``; x is the epoch when eval lines carry one, else the step.
    ``per_epoch`` maps ``train_loss`` and ``dev_pair_accuracy`` (from ``{"type": "epoch"}`` lines) to
    ``(epochs, values)``.
    A non-finite loss (a diverged run) is kept out of the curve rather than breaking the plot.
    """
    path = Path(path)
    steps, losses, eval_records = [], [], []
    per_epoch: dict[str, tuple[list[float], list[float]]] = {}
    for row, record in read_json_lines(path):
        if record.get("type") == "epoch" and _number(record.get("epoch")) is not None:
            for name in ("train_loss", "dev_pair_accuracy"):
                if _number(record.get(name)) is not None:
                    xs, ys = per_epoch.setdefault(name, ([], []))
                    xs.append(float(record["epoch"]))
                    ys.append(float(record[name]))
        if record.get("type") == "step":
            step, loss = _number(record.get("step")), _number(record.get("loss"))
            if step is None:
                raise DataError("a step line needs a numeric 'step'", path=str(path), row=row, column="step")
            if loss is not None:
                steps.append(step)
                losses.append(loss)
        elif record.get("type") == "eval":
            if not isinstance(record.get("metrics"), dict):
                raise DataError("an eval line needs a 'metrics' object", path=str(path), row=row, column="metrics")
            eval_records.append(record)
    by_epoch = bool(eval_records) and all(_number(r.get("epoch")) is not None for r in eval_records)
    xlabel = "epoch" if by_epoch else "step"
    evals: dict[str, tuple[list[float], list[float]]] = {}
    for i, record in enumerate(eval_records):
        x = _number(record.get(xlabel))
        x = float(i + 1) if x is None else x
        for name, value in record["metrics"].items():
            if name not in COUNTS and _number(value) is not None:
                xs, ys = evals.setdefault(str(name), ([], []))
                xs.append(x)
                ys.append(float(value))
    return {"steps": steps, "losses": losses, "evals": evals, "eval_xlabel": xlabel, "per_epoch": per_epoch}
