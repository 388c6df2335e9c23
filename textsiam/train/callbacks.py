"""Trainer callbacks (shape S3). STAND-IN written by h-breadth until h-train's ``callbacks.py`` is on main; the
interface is the agreed one, so the coordinator keeps h-train's file and drops this one when merging."""

from __future__ import annotations

from typing import Any


class Callback:
    """Hooks the trainer calls on the main rank; every method is a no-op by default."""

    def on_train_begin(self, settings: dict[str, Any]) -> None:
        """The run's settings (the train config) before the first step."""

    def on_log(self, record: dict[str, Any]) -> None:
        """Every record written to the train log (``{"type": "step", "loss", "lr", ...}``, eval, epoch ...)."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        """After an epoch (and its dev evaluation); return True to stop training now."""
        return False

    def on_train_end(self, summary: dict[str, Any]) -> None:
        """The final summary, the decision included when one was tuned."""


class HeldEnd(Callback):
    """Passes every hook on to ``callbacks`` but holds ``on_train_end`` until :meth:`finish` (``fit`` calls it
    with the summary and the decision tuned after the trainer returned). Written by h-breadth for S3."""

    def __init__(self, callbacks: list[Callback], settings: dict[str, Any] | None = None) -> None:
        self.callbacks, self.settings = callbacks, settings  # settings: the run's (data, preset, config) if given

    def on_train_begin(self, settings: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(self.settings or settings)

    def on_log(self, record: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_log(record)

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        return any([callback.on_epoch_end(epoch, record) for callback in self.callbacks])  # every one is called

    def finish(self, summary: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_end(summary)
