"""TrainConfig: every training knob in one dataclass, readable from YAML and overridable from the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textsiam.errors import ConfigError


@dataclass
class TrainConfig:
    """Training recipe. Defaults follow the sentence-transformers STS recipe (AdamW, lr 2e-5, 10% warmup)."""

    loss: str = "cosine"
    loss_args: dict[str, Any] = field(default_factory=dict)
    epochs: int = 1
    batch_size: int = 16
    lr: float = 2e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    seed: int = 0
    group_by_length: bool = True
    eval_metric: str | None = None  # None: spearman for graded dev data, roc_auc for binary
    eval_batch_size: int = 64
    log_every: int = 10
    device: str = "auto"  # "auto" -> cuda if available, else cpu
    amp: bool = False  # bfloat16 autocast on CUDA
    save_checkpoints: bool = True  # a resumable checkpoint after every epoch

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"TrainConfig.{name} must be > 0, got {value!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"TrainConfig.warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> TrainConfig:
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ConfigError(f"{source}: unknown training option(s) {unknown}; valid: {cls.field_names()}")
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        import yaml

        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of training options, got {type(data).__name__}")
        return cls.from_dict({**data, **overrides}, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
