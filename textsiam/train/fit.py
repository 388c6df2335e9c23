"""``fit``: one training run from settings to a finished run folder; the CLI's ``train`` and the Python API share it.

Settings, lowest precedence first: TrainConfig defaults < the preset's ``train`` defaults < the YAML ``config``
file < explicit arguments. Every name (loss, format, preset, threshold strategy, calibrator) and the device are
checked before any data is read. The run folder gets the best model, ``train_config.yaml`` (the resolved
settings), ``train_log.jsonl``, ``train_summary.json``, ``dev_split.tsv`` (a carved text dev split) and
``decision.json`` (with a threshold strategy); the resumable ``checkpoint/`` is removed after a successful run
unless ``keep_checkpoint``.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textsiam.atomic import check_folder
from textsiam.data import PairData
from textsiam.data.image_table import write_image_pairs
from textsiam.data.images import ImagePairData
from textsiam.data.load import load_data
from textsiam.errors import ConfigError
from textsiam.eval.decision import Decision
from textsiam.losses import build_loss
from textsiam.models.base import PairModel
from textsiam.train import checkpoint
from textsiam.train.callbacks import Callback
from textsiam.train.config import TrainConfig
from textsiam.train.config_file import read_config_file
from textsiam.train.decide import check_decision_names, tune_decision
from textsiam.train.device import autocasts, resolve_device
from textsiam.train.names import check_name
from textsiam.train.run_folder import check_out_folder, clear_run

_DATA_KEYS = (
    "format",
    "text_a",
    "text_b",
    "label",
    "limit",
    "label_range",
    "bodies",
    "split",
    "pairs",
    "skip_bad_rows",
)
"""Options passed to ``load_data`` for the training and the dev pairs."""
_TRAIN_ONLY_KEYS = ("hard_negatives",)
"""Data options that apply to the training pairs only (dev pairs are never mined)."""

RUN_KEYS = (
    "preset",
    "model",
    "train",
    "dev",
    "out",
    "dev_fraction",
    *_DATA_KEYS,
    *_TRAIN_ONLY_KEYS,
    "threshold_strategy",
    "calibrate",
    "keep_checkpoint",
)
"""Settings of a run besides the TrainConfig fields; a YAML config file may set both."""


@dataclass
class FitResult:
    """What a run produced: the folder, the trainer's summary, the pair counts and the tuned decision."""

    out: Path
    summary: dict[str, Any]
    settings: dict[str, Any]
    train_pairs: int
    dev_pairs: int | None
    carved_dev: bool
    dev_split: Path | None
    decision: Decision | None


def resolve_settings(options: dict[str, Any], config: str | Path | None = None) -> tuple[dict[str, Any], TrainConfig]:
    """Merge preset defaults, the YAML ``config`` file and explicit ``options`` (None = not given) into
    (run settings, TrainConfig)."""
    from textsiam.models.io import preset_config

    valid = set(RUN_KEYS) | set(TrainConfig.field_names())
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ConfigError(f"unknown fit option(s) {unknown}; valid: {sorted(valid)}")
    file_values = read_config_file(config, valid) if config is not None else {}
    given = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if v is not None}
    run = {k: given.get(k, file_values.get(k)) for k in RUN_KEYS}
    if not run["preset"] and not run["model"]:
        raise ConfigError("say which model to train: preset NAME (textsiam list presets) or model DIR (--model)")
    for key in ("train", "out"):
        if not run[key]:
            raise ConfigError(f"--{key} is required (as an argument or in the config file)")
    check_name("presets", run["preset"])
    train: dict[str, Any] = dict(preset_config(run["preset"]).get("train", {})) if run["preset"] else {}
    train.update({k: v for k, v in file_values.items() if k in TrainConfig.field_names()})
    train.update({k: v for k, v in given.items() if k in TrainConfig.field_names()})
    return run, TrainConfig.from_dict(train, source=str(config or "fit"))


def check_run(run: dict[str, Any], cfg: TrainConfig) -> None:
    """Everything that can be checked without data: device, names, combinations."""
    resolve_device(cfg.device)
    for part in cfg.loss.split("+"):  # a combined loss names its parts
        check_name("losses", part)
    build_loss(cfg.loss, **cfg.loss_args)
    check_name("readers", run["format"])
    check_decision_names(run["threshold_strategy"], run["calibrate"])
    fraction = run["dev_fraction"]
    if fraction is not None and not (isinstance(fraction, int | float) and 0 < fraction < 1):
        raise ConfigError(f"dev_fraction must be strictly between 0 and 1, got {fraction!r}")
    if run["calibrate"] and not run["threshold_strategy"]:
        raise ConfigError("calibrate needs a threshold strategy (--threshold-strategy) to tune on the dev pairs")
    if run["threshold_strategy"] and not (run["dev"] or fraction):
        raise ConfigError("--threshold-strategy needs dev pairs: pass --dev FILE or --dev-fraction F")
    if run["dev"] and fraction is not None:
        raise ConfigError(
            f"dev pairs given twice: --dev {run['dev']} and --dev-fraction {fraction} (which carves dev pairs off "
            "--train); pass one of them"
        )
    if cfg.amp and not autocasts(resolve_device(cfg.device)):
        warnings.warn(
            f"--amp (amp=True) is bfloat16 autocast on CUDA and CPU; on {resolve_device(cfg.device)} it does nothing "
            "and this run trains in float32",
            stacklevel=3,
        )
    check_folder(run["out"])


def fit(
    train: str | Path | None = None,
    out: str | Path | None = None,
    *,
    config: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool | None = None,
    epoch_lines: bool | None = None,
    echo: Callable[[str], None] | None = None,
    callbacks: Sequence[Callback] | None = None,
    **options: Any,
) -> FitResult:
    """Train ``preset=NAME`` or ``model=`` (a PairModel, saved folder or transformer name) on ``train`` pairs and
    save the run in ``out``.

    ``options`` are the run settings of :data:`RUN_KEYS` (``dev``, ``dev_fraction``, ``threshold_strategy``,
    ``calibrate``, data-format options, ``keep_checkpoint``) and any TrainConfig field (``loss``, ``epochs``,
    ``lr``, ...). ``echo`` receives one-line progress notes (the CLI prints them). ``callbacks``
    (:class:`textsiam.train.callbacks.Callback`) see the run's log records and may stop it after an epoch.

    An ``out`` folder that already holds a run is refused unless ``overwrite`` (which first deletes that run's own
    files, and refuses a folder holding anything else: :mod:`textsiam.train.run_folder`) or ``resume`` (which
    continues it). ``show_progress`` None (the default) draws progress bars only when standard error is a terminal,
    as the CLI does; without bars the weight-loading and dataset bars of transformers / datasets are off too."""
    import yaml

    from textsiam.atomic import atomic_write_text, make_folder
    from textsiam.distributed import context
    from textsiam.models.io import create_model, load_model
    from textsiam.train.trainer import Trainer

    say = echo or (lambda _: None)
    built = options.get("model") if isinstance(options.get("model"), PairModel) else None
    if built is not None:  # a model object: its config stands for it in the settings
        options = {**options, "model": built.get_config()}
    run, cfg = resolve_settings({**options, "train": train, "out": out}, config)
    check_run(run, cfg)
    out_dir = Path(run["out"])
    replace = check_out_folder(out_dir, overwrite=overwrite, resume=resume)
    main = context(cfg.device).is_main  # under torchrun, ranks > 0 train but write and say nothing
    say = say if main else (lambda _: None)
    bars = sys.stderr.isatty() if show_progress is None else bool(show_progress)
    with _library_bars(bars):
        train_data, dev_data, carved = _load_pairs(run, cfg.seed)
        # built before the old run is removed: --model OUT --out OUT --overwrite trains on from the saved model
        model = built if built is not None else create_model(run["model"] or run["preset"], seed=cfg.seed)
    tuned_on_train = _dev_is_train(run, train_data, dev_data)
    if tuned_on_train:
        warnings.warn(
            f"the dev pairs ({run['dev']}) are the training pairs ({run['train']}, same sha256): the best epoch"
            + (" and the threshold are" if run["threshold_strategy"] else " is")
            + " chosen on data the model was trained on, so dev metrics are not held-out estimates; pass other "
            "pairs with --dev, or --dev-fraction F to carve them off --train",
            stacklevel=2,
        )
    if replace and main:
        say(f"removing the old run in {out_dir} (--overwrite): {', '.join(clear_run(out_dir))}")
    make_folder(out_dir)
    dev_split = _save_dev_split(dev_data, out_dir) if carved and main else None
    if carved:
        say(
            f"carved {len(dev_data)} dev pairs off the training pairs"
            + (f"; saved to {dev_split}" if dev_split else "")
        )
    settings = {**{k: v for k, v in run.items() if v is not None}, **cfg.to_dict()}
    if main:
        atomic_write_text(out_dir / "train_config.yaml", yaml.safe_dump(settings, sort_keys=False))
    say(f"training on {len(train_data)} pairs" + (f", dev {len(dev_data)} pairs" if dev_data else ""))
    trainer = Trainer(
        model, cfg, train_data, dev_data, out_dir, show_progress=bars, epoch_lines=epoch_lines, callbacks=callbacks
    )
    summary = trainer.train(resume)
    decision = None
    if run["threshold_strategy"] and main:
        best = load_model(out_dir)  # the saved best epoch
        decision = tune_decision(best, dev_data, run["threshold_strategy"], calibrate=run["calibrate"])
        if tuned_on_train:  # its "held-out" metrics are cross-validated over training pairs: say so in the file
            decision.data = {**(decision.data or {}), "held_out": False, "same_as_training_pairs": True}
        decision.to_json(out_dir / "decision.json")
    if not run["keep_checkpoint"] and main:
        checkpoint.clear(out_dir)
    return FitResult(
        out_dir, summary, settings, len(train_data), len(dev_data) if dev_data else None, carved, dev_split, decision
    )


@contextlib.contextmanager
def _library_bars(on: bool) -> Iterator[None]:
    """transformers' weight-loading bar and datasets' bars on or off for the block (as they were afterwards)."""
    import datasets
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled(), datasets.is_progress_bar_enabled()
    if not on:
        hf_logging.disable_progress_bar()
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        (hf_logging.enable_progress_bar if was[0] else hf_logging.disable_progress_bar)()
        (datasets.enable_progress_bars if was[1] else datasets.disable_progress_bars)()


def _dev_is_train(run: dict[str, Any], train: PairData, dev: PairData | None) -> bool:
    """True when ``dev`` was read from the same pairs as ``train``: the same argument, or a whole file with the
    same sha256 (an embedded set's splits share the sha256 of their source, so only whole files count)."""
    if dev is None or not run["dev"]:
        return False
    if str(run["dev"]) == str(run["train"]):
        return True
    whole = train.subset_of is None and dev.subset_of is None
    return whole and train.sha256 is not None and train.sha256 == dev.sha256


def _load_pairs(run: dict[str, Any], seed: int) -> tuple[PairData, PairData | None, bool]:
    """(train, dev, whether dev was carved off train)."""
    fmt = {k: run.get(k) for k in _DATA_KEYS}
    train_data = load_data(run["train"], **fmt, **{k: run.get(k) for k in _TRAIN_ONLY_KEYS}, seed=seed)
    if run["dev"]:
        return train_data, load_data(run["dev"], **fmt, seed=seed), False
    if run["dev_fraction"]:
        rest, dev = train_data.split(run["dev_fraction"], seed=seed)
        return rest, dev, True
    return train_data, None, False


def _save_dev_split(dev: PairData, out_dir: Path) -> Path | None:
    """Write a carved dev split, so its threshold can be re-tuned on exactly these pairs (image pairs: a table of
    absolute image references that ``--format image-tsv`` reads back)."""
    if isinstance(dev, ImagePairData):
        write_image_pairs(out_dir / "dev_split.images.tsv", dev)
        return out_dir / "dev_split.images.tsv"
    if not (dev.a and isinstance(dev.a[0], str)):
        return None
    if any("\t" in t or "\n" in t or "\r" in t for t in dev.a + dev.b):  # e.g. FNC-1 bodies: TSV cannot hold them
        dev.to_jsonl(out_dir / "dev_split.jsonl")
        return out_dir / "dev_split.jsonl"
    dev.to_tsv(out_dir / "dev_split.tsv")
    return out_dir / "dev_split.tsv"
