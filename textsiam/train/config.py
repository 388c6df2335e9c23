"""TrainConfig: every training knob in one dataclass, readable from YAML and overridable from the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from textsiam.errors import ConfigError
from textsiam.params import (
    POSITIVE_INT,
    Bool,
    Constraint,
    Fields,
    Interval,
    MappingOf,
    Optional,
    Record,
    Text,
    check_params,
)
from textsiam.registry import LOSSES


def _coerce(name: str, value: Any, kind: type) -> Any:
    """YAML and CLI strings such as "2e-5" or "true" as the field's type; anything else unchanged."""
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        if kind is int and float(value) == int(float(value)) and not isinstance(value, bool):
            return int(float(value))
        if kind is float and not isinstance(value, bool):
            return float(value)
    except (TypeError, ValueError):
        pass
    return value  # not convertible: the declared check (PARAMS) refuses it, naming what is allowed


SILVER_SAMPLINGS = ("neighbours", "random")
"""How a teacher's silver pairs are drawn (``train/silver.py``; the first is the default); here, with
no torch, for the CLI's flags."""
MAX_SEED = 2**32 - 1
"""The largest seed: numpy's global seed (``seed_everything``) takes 0 .. 2**32 - 1."""


def check_seed(seed: Any, name: str = "seed (--seed)") -> int:
    """``seed`` if it is an integer from 0 to :data:`MAX_SEED`, else a ConfigError naming it and the range."""
    if not SEED.allows(seed):
        raise ConfigError(
            f"{name} must be an integer from 0 to {MAX_SEED} (2**32 - 1), got {seed!r}; pick a seed in that range"
        )
    return seed


def check_tower_options(towers: Any) -> dict[str, dict[str, Any]]:
    """``TrainConfig.towers`` checked against :data:`TOWER_PARAMS` (tower names are checked against the model later)."""
    return check_params("TrainConfig", {"towers": towers}, {"towers": MappingOf(TOWER_PARAMS)})["towers"]


SEED = Interval(int, 0, MAX_SEED)
"""A seed: numpy's global seed takes 0 .. 2**32 - 1."""
POSITIVE = Interval(float, 0, None, closed="neither")
NON_NEGATIVE = Interval(float, 0)  # 0 turns a weight decay or a clipping norm off
TOWER_PARAMS = Fields({"freeze": Bool(), "lr_multiplier": POSITIVE})
"""One tower's training options (``towers: {NAME: {freeze, lr_multiplier}}``; names are checked against the model)."""
PARAMS: dict[str, Constraint] = {
    "loss": Text(),  # a registered loss or two joined by '+': loss_names checks the names
    "loss_args": Record(),  # checked by the loss's own declaration when it is built
    "epochs": POSITIVE_INT,
    "batch_size": POSITIVE_INT,
    "lr": POSITIVE,
    "seed": SEED,
    "warmup_ratio": Interval(float, 0, 1, closed="left"),
    "weight_decay": NON_NEGATIVE,
    "max_grad_norm": NON_NEGATIVE,
    "group_by_length": Optional(Bool()),  # null: random batches for in-batch losses, length-grouped for the rest
    "eval_metric": Optional(Text()),
    "eval_batch_size": POSITIVE_INT,
    "log_every": POSITIVE_INT,
    "device": Text(),
    "amp": Bool(),
    "save_checkpoints": Bool(),
    "towers": MappingOf(TOWER_PARAMS),
    "checkpoint_tokens": Optional(POSITIVE_INT),  # null: never recompute
    "early_stopping": Optional(POSITIVE_INT),  # a patience in epochs; null: never stop early
}
"""What each TrainConfig field may be (:mod:`textsiam.params`), checked by one ``check_params`` call."""


PRESET = "preset"
"""A flag whose help ends "(default: the preset's, else <the TrainConfig default>)"."""


def _flag(help: str, *, value: Any, default_from: str | None = None, names: str | None = None, **flag: Any) -> Any:
    """A TrainConfig field with default ``value`` that ``textsiam train`` has a flag for: the help text, where the
    run's default comes from (``PRESET``), the registry kind whose ``names`` the help lists, argparse keywords (the
    type of an int / float field comes from its annotation)."""
    meta = {"help": help, "flag": flag, "default_from": default_from, "names": names}
    return field(default=value, metadata=meta)


@dataclass
class TrainConfig:
    """Training recipe. Defaults follow the sentence-transformers STS recipe (AdamW, lr 2e-5, 10% warmup)."""

    loss: str = _flag(
        "%(names)s, or two joined by '+' (e.g. cosent+multiple-negatives)",
        names=LOSSES,  # listed in the help, not argparse choices: a combined loss is no single name
        metavar="LOSS",
        default_from=PRESET,
        value="cosine",
    )
    loss_args: dict[str, Any] = field(default_factory=dict)
    epochs: int = _flag("passes over the training pairs", default_from=PRESET, value=1)
    batch_size: int = _flag("pairs per optimizer step", default_from=PRESET, value=16)
    lr: float = _flag("peak learning rate of AdamW", default_from=PRESET, value=2e-5)
    seed: int = _flag("seed of initial weights, batch order and the carved dev split", default_from=PRESET, value=0)
    warmup_ratio: float = _flag(
        "fraction of the steps with a linear learning-rate warmup", default_from=PRESET, value=0.1
    )
    weight_decay: float = _flag("AdamW weight decay (0 turns it off)", default_from=PRESET, value=0.01)
    max_grad_norm: float = _flag("gradient clipping norm (0 turns it off)", default_from=PRESET, value=1.0)
    group_by_length: bool | None = None  # None: random batches for in-batch losses, length-grouped for the rest
    eval_metric: str | None = _flag(  # None: spearman graded, roc_auc binary, multi-class head: fnc_relative / macro_f1
        "dev metric that picks the best epoch (default: spearman for graded, roc_auc for binary; a multi-class "
        "head: fnc_relative for the FNC-1 stances, else macro_f1; class_accuracy, roc_auc also)",
        value=None,
    )
    eval_batch_size: int = 64
    log_every: int = 10
    device: str = "auto"  # "auto" -> cuda if available, else cpu (the flag --device is shared by every command)
    # docs/benchmarks.md: its STS-B quality on CPU (within 0.002 of fp32 on two seeds; off by default until the full
    # recipe is checked)
    amp: bool = _flag("bfloat16 autocast on CUDA and CPU (default: off)", action="store_true", value=False)
    save_checkpoints: bool = True  # a resumable checkpoint after every epoch
    towers: dict[str, Any] = field(default_factory=dict)  # per tower: {"freeze": bool, "lr_multiplier": float}
    # a step with more padded token slots than this recomputes its layer activations in the backward (same
    # gradients, less peak memory: the batch of the longest texts sets a length-grouped epoch's peak); null = never
    checkpoint_tokens: int | None = 1280
    early_stopping: int | None = _flag(
        "stop after PATIENCE epochs without a better dev metric; the best epoch is still the one saved "
        "(default: never)",
        metavar="PATIENCE",
        value=None,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # YAML reads "2e-5" as a string: coerce numbers, refuse the rest
            kind = {"int": int, "float": float, "bool": bool}.get(str(f.type))
            value = getattr(self, f.name)
            if kind is None:  # strings, mappings, optionals: checked below
                continue
            if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
                setattr(self, f.name, _coerce(f.name, value, kind))
        check_seed(self.seed, "TrainConfig.seed (--seed)")  # SEED, with the flag and the range in words
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key, value in check_params("TrainConfig", values, PARAMS).items():
            setattr(self, key, value)
        from textsiam.losses.build import loss_names  # here: reading the fields (CLI flags) loads no torch

        loss_names(self.loss)  # an unknown loss name fails here, before any data is read

    @classmethod
    def flag_fields(cls) -> list[dataclasses.Field]:
        """The fields ``textsiam train`` has a flag for, in declaration order (the order ``--help`` lists them)."""
        return [f for f in dataclasses.fields(cls) if "help" in f.metadata]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> TrainConfig:
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ConfigError(f"{source}: unknown training option(s) {unknown}; valid: {cls.field_names()}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
