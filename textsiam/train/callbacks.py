"""Trainer callbacks: code of the user's own that sees a run's records as they are written, and may stop it.

``Trainer(..., callbacks=[...])`` and ``textsiam.fit(..., callbacks=[...])`` take them; they are called on the main
rank only (the one that writes the run folder), in the order given. Subclass :class:`Callback` and override what
you need; every method does nothing by default::

    class StopAt(Callback):
        def on_epoch_end(self, epoch, record):
            return record["metrics"]["spearman"] >= 0.85  # True: stop training now (needs dev data)

When a callback stops the run, the best epoch by the dev metric so far is still the one restored and saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textsiam.errors import ConfigError


class Callback:
    """Hooks of a training run, called on the main rank; the records are the ones written to ``train_log.jsonl``."""

    def on_train_begin(self, settings: dict[str, Any]) -> None:
        """The run starts; ``settings`` are its training settings (``TrainConfig.to_dict()``)."""

    def on_log(self, record: dict[str, Any]) -> None:
        """Every record written to the train log: ``{"type": "step", "epoch", "step", "loss", "lr"}``,
        ``{"type": "eval", "epoch", "step", "metrics"}`` (dev scoring), ``{"type": "epoch", "epoch", "step",
        "train_loss"}`` and ``{"type": "fit_vocabulary", "towers"}``."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        """An epoch ended, after its dev scoring and saving. ``record``: its epoch record plus ``metrics`` (the dev
        metrics; absent without dev data) and ``best_value`` (of the selection metric so far). True: stop now."""
        return False

    def on_train_end(self, summary: dict[str, Any]) -> None:
        """The run is over; ``summary`` is what ``train()`` returns (``train_summary.json``), incl. the best epoch."""


def check_callbacks(callbacks: Sequence[Callback] | None) -> list[Callback]:
    """The callbacks as a list; a ConfigError naming the first one that is not a :class:`Callback`."""
    found = list(callbacks or ())
    for i, cb in enumerate(found):
        if not isinstance(cb, Callback):
            raise ConfigError(
                f"callbacks[{i}] is a {type(cb).__name__}, not a textsiam.train.callbacks.Callback: subclass Callback"
            )
    return found
