"""Training: Trainer, TrainConfig, checkpoints."""

from textsiam.train.config import TrainConfig
from textsiam.train.trainer import Trainer

__all__ = ["TrainConfig", "Trainer"]
