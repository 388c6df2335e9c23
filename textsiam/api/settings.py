"""The settings of a training run, each declared once.

- :class:`RunSettings` (here): what to train, on which pairs, into which folder, and what to do after training;
- :class:`~textsiam.read_options.ReadOptions` (plus ``format``, the reader's name): how the pairs are read;
- :class:`~textsiam.train.config.TrainConfig`: the recipe the Trainer runs (a preset's ``train`` part).

``fit`` takes every field as a keyword, a YAML config file may set any of them, and ``textsiam train`` has a flag
for each field whose metadata holds a ``help`` text. Lowest precedence first: TrainConfig defaults < the preset's
``train`` defaults < the config file < explicit values. This module loads no torch (the CLI builds its flags
from it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textsiam.errors import ConfigError
from textsiam.params import Choice, Interval, Optional
from textsiam.read_options import DEV_SPLITS, ReadOptions
from textsiam.registry import CALIBRATORS, STRATEGIES
from textsiam.train.config import SILVER_SAMPLINGS, TrainConfig

MODEL_HELP = (
    "preset, saved model folder, model .json file (a preset's model part or a saved config.json) or transformer name"
)
BEFORE, AFTER = "before", "after"
"""When a run setting acts: before training (what, on which pairs, where to) or after it (the decision, cleanup)."""


def _setting(help: str, when: str = BEFORE, **flag: Any) -> Any:
    return field(default=None, metadata={"help": help, "flag": flag, "when": when})


RUN_PARAMS = {
    "dev_fraction": Optional(Interval(float, 0, 1, closed="neither")),
    "dev_split": Optional(Choice(*DEV_SPLITS)),
    "silver_sampling": Optional(Choice(*SILVER_SAMPLINGS)),
    "silver_pairs": Optional(Interval(int, 0)),
    "distill_weight": Optional(Interval(float, 0, None, closed="neither")),
}
"""What the run settings with a range may be (:mod:`textsiam.params`); names (presets, strategies, calibrators,
trackers) are checked against their registries, files when they are read."""
DISTILL_KEYS = ("silver_sampling", "silver_pairs", "distill_weight")
"""Run settings that mean something only with a teacher."""


@dataclass(frozen=True)
class RunSettings:
    """What a run trains, on what, into which folder, and what it does afterwards (None = not given)."""

    preset: str | None = _setting("preset to start from (textsiam list presets) (default: none)")
    model: str | dict[str, Any] | None = _setting(f"or: the model to start from: {MODEL_HELP} (default: none)")
    train: str | None = _setting("training pairs: a file, or an embedded set such as digits:train (required)")
    dev: str | None = _setting("dev pairs: selects the best epoch (a file, or e.g. digits:dev) (default: none)")
    dev_fraction: float | None = _setting(
        "carve this fraction of --train off as dev when --dev is absent; text pairs are saved to "
        "OUT/dev_split.tsv (default: no dev split)"
    )
    dev_split: str | None = _setting(
        "how --dev-fraction carves dev: group (whole groups, e.g. FNC-1 bodies; else a stratified row split) or "
        "topic (whole stories of FNC-1-like pairs: headlines and bodies linked by related pairs; the pairs of a "
        "held-out headline with a kept body are dropped) (default: group)",
        choices=DEV_SPLITS,
    )
    teacher: list[str] | str | None = _setting(
        "distil from this model (a saved folder, preset or transformer name): a cross-encoder labels silver pairs "
        "drawn from the training texts, which the student trains on beside the gold pairs; a twin gives target "
        "embeddings the student learns beside its loss, or, given --silver-sampling or --silver-pairs, labels silver "
        "pairs too. Several models: each labels the same silver pairs and a pair's label is the mean of theirs "
        "(default: none)",
        nargs="+",
        metavar="MODEL",
    )
    silver_sampling: str | None = _setting(
        "with --teacher: how silver pairs are drawn from the training texts: neighbours (each "
        "text's nearest neighbours under the student's embeddings, or a twin teacher's for a student without "
        "any, such as a cross-encoder) or random (default: neighbours)",
        choices=SILVER_SAMPLINGS,
    )
    silver_pairs: int | None = _setting(
        "with --teacher: how many silver pairs (never a gold pair) (default: as many as the gold pairs)",
        metavar="N",
    )
    distill_weight: float | None = _setting(
        "with a twin --teacher: weight of the embedding distillation term against the pair loss (default: 1)",
        metavar="W",
    )
    out: str | None = _setting("output folder (model, train_log.jsonl, train_config.yaml) (required)")
    keep_checkpoint: bool | None = _setting(
        "keep the resumable OUT/checkpoint after a successful run (default: removed)", AFTER, action="store_true"
    )
    threshold_strategy: str | None = _setting(
        "after training, tune a decision threshold on the dev pairs and save it as decision.json: "
        "%(choices)s (default: none)",
        AFTER,
        choices=STRATEGIES,
        metavar="STRATEGY",
    )
    calibrate: str | None = _setting(
        "with --threshold-strategy: also fit a probability calibrator: %(choices)s (default: none)",
        AFTER,
        choices=CALIBRATORS,
        metavar="CALIBRATOR",
    )
    report_to: list[str] | str | None = _setting(
        "experiment trackers that follow the run and get its final summary (with the tuned decision): tensorboard "
        "(event files in OUT/runs), mlflow (a run in OUT/mlruns), or none; extras tensorboard, mlflow "
        "(default: none)",
        AFTER,
        nargs="+",
        metavar="TRACKER",
    )

    @classmethod
    def flag_fields(cls, when: str) -> list[dataclasses.Field]:
        """The fields acting ``when`` (BEFORE / AFTER training), in declaration order."""
        return [f for f in dataclasses.fields(cls) if f.metadata.get("when") == when]


READ_KEYS = ("format", *(f.name for f in ReadOptions.flag_fields()))
"""The reading keywords of a run: the reader's name and the ReadOptions fields (its ``seed`` is TrainConfig's)."""
TRAIN_ONLY_READ_KEYS = tuple(f.name for f in ReadOptions.flag_fields() if f.metadata["train_only"])
"""Reading options that apply to the training pairs only (dev pairs are never mined)."""


def setting_names() -> list[str]:
    """Every name ``fit`` and a config file take as a setting."""
    return [f.name for f in dataclasses.fields(RunSettings)] + list(READ_KEYS) + TrainConfig.field_names()


@dataclass(frozen=True)
class Resolved:
    """A run's settings after merging: the run, the reading keywords (set ones only), the recipe, the preset."""

    run: RunSettings
    read: dict[str, Any]
    config: TrainConfig
    preset: dict[str, Any] | None  # the preset's config (model and train parts), read once

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings as ``train_config.yaml`` records them (flat; None left out of the run part)."""
        run = {k: v for k, v in dataclasses.asdict(self.run).items() if v is not None}
        listed = {**run, **self.read}
        listed = {k: list(v) if isinstance(v, tuple) else v for k, v in listed.items()}  # YAML has no tuples
        return {**listed, **self.config.to_dict()}


def _plain(value: Any) -> Any:
    """A path as a string, and a list of paths as a list of strings (``train_config.yaml`` records them)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple) and any(isinstance(v, Path) for v in value):
        return [str(v) if isinstance(v, Path) else v for v in value]
    return value


def resolve_settings(given: dict[str, Any], config: str | Path | None = None) -> Resolved:
    """Merge the preset's defaults, the YAML ``config`` file and the ``given`` values (None = not given)."""
    from textsiam.models.io import preset_config
    from textsiam.train.config_file import read_config_file

    valid = setting_names()
    file_values = read_config_file(config, valid) if config is not None else {}
    values = {**file_values, **{k: _plain(v) for k, v in given.items() if v is not None}}
    run = RunSettings(**{f.name: values.get(f.name) for f in dataclasses.fields(RunSettings)})
    if not run.preset and not run.model:
        raise ConfigError("say which model to train: preset NAME (textsiam list presets) or model DIR (--model)")
    for key in ("train", "out"):
        if not getattr(run, key):
            raise ConfigError(f"--{key} is required (as an argument or in the config file)")
    preset = preset_config(run.preset) if run.preset else None  # an unknown name: the closest and all names
    recipe = dict(preset.get("train", {})) if preset else {}
    recipe.update({k: v for k, v in values.items() if k in TrainConfig.field_names()})
    read = {k: values[k] for k in READ_KEYS if values.get(k) is not None}
    return Resolved(run, read, TrainConfig.from_dict(recipe, source=str(config or "fit")), preset)
