"""Training: Trainer, TrainConfig, callbacks, checkpoints."""

from textsiam.train.callbacks import Callback
from textsiam.train.config import TrainConfig
from textsiam.train.trainer import Trainer

__all__ = ["Callback", "TrainConfig", "Trainer"]
