"""Early stopping on the dev metric: stop when it has not improved for ``patience`` epochs.

The trainer keeps the best epoch's weights whatever stops it, so the saved model is the best epoch, not the last.
"""

from __future__ import annotations

import math
from typing import Any

from textsiam.errors import ConfigError
from textsiam.train.callbacks import Callback


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without a dev-metric gain larger than ``min_delta`` (higher is better).

    The metric is ``metric`` when given, else the one the trainer selects by (``settings["eval_metric"]``, or the
    ``best_metric`` of the epoch record). It is read from the eval record logged for the epoch (``metrics``) or the
    epoch record itself. Without dev data there is nothing to watch and training runs all epochs.
    """

    def __init__(self, patience: int, min_delta: float = 0.0, metric: str | None = None) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"early stopping patience must be an integer >= 1 (epochs), got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, int | float) or not min_delta >= 0:
            raise ConfigError(f"early stopping min_delta must be a number >= 0, got {min_delta!r}")
        self.patience, self.min_delta, self.metric = patience, float(min_delta), metric
        self.best: float | None = None
        self.waited = 0
        self.stopped_epoch: int | None = None
        self._metrics: dict[str, Any] = {}

    def on_train_begin(self, settings: dict[str, Any]) -> None:
        self.metric = self.metric or settings.get("eval_metric")
        self.best, self.waited, self.stopped_epoch, self._metrics = None, 0, None, {}

    def on_log(self, record: dict[str, Any]) -> None:
        if isinstance(record.get("metrics"), dict):
            self._metrics = record["metrics"]

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        metrics = {**self._metrics, **(record.get("metrics") or {})}
        name = self.metric or record.get("best_metric")
        value = metrics.get(name, record.get(name)) if name else None
        self._metrics = {}
        if value is None or not math.isfinite(float(value)):
            return False  # no dev metric this epoch (no dev data): nothing to judge
        if self.best is None or float(value) > self.best + self.min_delta:
            self.best, self.waited = float(value), 0
            return False
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False
