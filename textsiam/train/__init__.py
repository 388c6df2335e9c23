"""Training: Trainer, TrainConfig, callbacks, checkpoints.

Imported on first use, so that ``textsiam.train.config`` (TrainConfig's fields: the CLI's training flags) loads no
torch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_NAMES = {
    "Callback": "textsiam.train.callbacks",
    "TrainConfig": "textsiam.train.config",
    "Trainer": "textsiam.train.trainer",
}
__all__ = ["Callback", "TrainConfig", "Trainer"]

if TYPE_CHECKING:
    from textsiam.train.callbacks import Callback
    from textsiam.train.config import TrainConfig
    from textsiam.train.trainer import Trainer


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'textsiam.train' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
