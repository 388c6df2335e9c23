"""``fit``: one training run from settings to a finished run folder; ``textsiam train`` calls it.

Settings (:mod:`textsiam.api.settings`), lowest precedence first: TrainConfig defaults < the preset's ``train``
defaults < the YAML ``config`` file < explicit arguments. Every name (loss, format, preset, threshold strategy,
calibrator) and the device are checked before any data is read. The run folder gets the best model,
``train_config.yaml`` (the resolved settings), ``train_log.jsonl``, ``train_summary.json``, ``dev_split.tsv`` (a
carved text dev split) and ``decision.json`` (with a threshold strategy); the resumable ``checkpoint/`` is removed
after a successful run unless ``keep_checkpoint``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from textsiam.api.distill import teach
from textsiam.api.run_data import data_record, dev_is_train, library_bars, load_pairs, save_dev_split
from textsiam.api.settings import DISTILL_KEYS, RUN_PARAMS, Resolved, resolve_settings, setting_names
from textsiam.atomic import check_folder
from textsiam.device import autocasts, resolve_device
from textsiam.errors import ConfigError
from textsiam.eval.decision import Decision
from textsiam.losses import build_loss
from textsiam.models.base import PairModel
from textsiam.names import check_name
from textsiam.params import check_params
from textsiam.train import checkpoint, teacher_cache
from textsiam.train.callbacks import Callback, check_callbacks
from textsiam.train.decide import check_decision_names, tune_decision
from textsiam.train.run_folder import check_out_folder, clear_run
from textsiam.train.tracking import HeldEnd, build_trackers, tracker_names


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
    main: bool = True  # False on the ranks > 0 of a torchrun group (they train, but neither write nor report)


def check_run(s: Resolved) -> tuple[torch.device, torch.nn.Module]:
    """Everything that can be checked without data: the device and the loss (each resolved or built here, once,
    and handed to the Trainer), names, combinations, the output folder."""
    device = resolve_device(s.config.device)
    check_name("readers", s.read.get("format"))
    run = s.run
    check_decision_names(run.threshold_strategy, run.calibrate)
    tracker_names(run.report_to)  # an unknown tracker fails here; its package is imported when it is built
    check_params("fit", {key: getattr(run, key) for key in RUN_PARAMS}, RUN_PARAMS)
    if not run.teacher and any(getattr(run, key) is not None for key in DISTILL_KEYS):
        given = [key for key in DISTILL_KEYS if getattr(run, key) is not None]
        raise ConfigError(f"{', '.join(given)} say how to distil from a teacher; pass teacher MODEL (--teacher)")
    fraction = run.dev_fraction
    if run.dev_split not in (None, "group") and not fraction:
        raise ConfigError(
            f"dev_split {run.dev_split!r} says how --dev-fraction carves dev pairs; pass --dev-fraction F"
        )
    if run.calibrate and not run.threshold_strategy:
        raise ConfigError("calibrate needs a threshold strategy (--threshold-strategy) to tune on the dev pairs")
    if run.threshold_strategy and not (run.dev or fraction):
        raise ConfigError("--threshold-strategy needs dev pairs: pass --dev FILE or --dev-fraction F")
    if run.dev and fraction is not None:
        raise ConfigError(
            f"dev pairs given twice: --dev {run.dev} and --dev-fraction {fraction} (which carves dev pairs off "
            "--train); pass one of them"
        )
    if s.config.amp and not autocasts(device):
        warnings.warn(
            f"--amp (amp=True) is bfloat16 autocast on CUDA and CPU; on {device} it does nothing and this run trains "
            "in float32",
            stacklevel=3,
        )
    elif s.config.amp and device.type == "cpu":
        from textsiam.deploy.precision import native

        bf16, why = native("bf16", device)
        if not bf16:  # oneDNN emulates bf16 there: slower than float32 (docs/precision.md)
            warnings.warn(
                f"--amp (bfloat16 autocast): {why}, so bf16 is emulated and trains slower than float32; drop --amp",
                stacklevel=3,
            )
    check_folder(run.out)
    return device, build_loss(s.config.loss, **s.config.loss_args)


def fit(
    train: str | Path | None = None,
    out: str | Path | None = None,
    *,
    # RunSettings (textsiam.api.settings)
    preset: str | None = None,
    model: PairModel | str | Path | dict[str, Any] | None = None,
    dev: str | Path | None = None,
    dev_fraction: float | None = None,
    dev_split: str | None = None,
    keep_checkpoint: bool | None = None,
    threshold_strategy: str | None = None,
    calibrate: str | None = None,
    report_to: list[str] | str | None = None,
    teacher: str | Path | list[str | Path] | None = None,
    silver_sampling: str | None = None,
    silver_pairs: int | None = None,
    distill_weight: float | None = None,
    # format and ReadOptions (textsiam.read_options)
    format: str | None = None,
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = None,
    limit: int | None = None,
    label_range: tuple[float, float] | None = None,
    split: str | None = None,
    pairs: int | None = None,
    skip_bad_rows: bool | None = None,
    hard_negatives: bool | None = None,
    bodies: str | Path | None = None,
    keep_classes: list[str] | None = None,
    # TrainConfig (textsiam.train.config)
    loss: str | None = None,
    loss_args: dict[str, Any] | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int | None = None,
    warmup_ratio: float | None = None,
    weight_decay: float | None = None,
    max_grad_norm: float | None = None,
    group_by_length: bool | None = None,
    eval_metric: str | None = None,
    eval_batch_size: int | None = None,
    log_every: int | None = None,
    device: str | None = None,
    amp: bool | None = None,
    save_checkpoints: bool | None = None,
    towers: dict[str, Any] | None = None,
    checkpoint_tokens: int | None = None,
    early_stopping: int | None = None,
    # how this call runs
    config: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool | None = None,
    epoch_lines: bool | None = None,
    echo: Callable[[str], None] | None = None,
    callbacks: Sequence[Callback] | None = None,
) -> FitResult:
    """Train ``preset=NAME`` or ``model=`` (a PairModel, saved folder or transformer name) on ``train`` pairs and
    save the run in ``out``.

    The settings are the fields of RunSettings, ReadOptions (with ``format``) and TrainConfig; None means "not
    given" (the preset's or the config file's value, else the default). ``echo`` receives one-line progress notes
    (the CLI prints them); ``callbacks`` (and the trackers of ``report_to``: "tensorboard", "mlflow") see the run
    (``textsiam.train.callbacks``); their ``on_train_end`` gets the summary with the tuned ``decision``.
    ``early_stopping=N`` stops after N epochs without a better dev metric (the best epoch is the one saved).
    ``teacher=MODEL`` distils from a cross-encoder (silver pairs) or a twin (target embeddings, or silver pairs);
    ``teacher=[MODEL, ...]`` from several, whose silver labels are averaged: :mod:`textsiam.api.distill`.

    An ``out`` folder that already holds a run is refused unless ``overwrite`` (which first deletes that run's own
    files, and refuses a folder holding anything else: :mod:`textsiam.train.run_folder`) or ``resume`` (which
    continues it). ``show_progress`` None (the default) draws progress bars only when standard error is a terminal,
    as the CLI does; without bars the weight-loading and dataset bars of transformers / datasets are off too."""
    given = {name: value for name, value in locals().items() if name in _SETTINGS}
    built = model if isinstance(model, PairModel) else None
    if built is not None:  # a model object: its config stands for it in the settings
        given["model"] = built.get_config()
    s = resolve_settings(given, config)
    checked = check_run(s)
    return _run(s, built, checked, resume, overwrite, show_progress, epoch_lines, echo or (lambda _: None), callbacks)


_SETTINGS = frozenset(setting_names())


def _run(
    s: Resolved,
    built: PairModel | None,
    checked: tuple[torch.device, torch.nn.Module],
    resume: bool,
    overwrite: bool,
    show_progress: bool | None,
    epoch_lines: bool | None,
    say: Callable[[str], None],
    callbacks: Sequence[Callback] | None,
) -> FitResult:
    """The run itself, once every setting is checked: data, model, Trainer, decision."""
    import yaml

    from textsiam.atomic import atomic_write_text, make_folder, write_json
    from textsiam.distributed import context
    from textsiam.models.card import write_card
    from textsiam.models.io import build_model, create_model, load_model
    from textsiam.train.trainer import Trainer

    run, cfg = s.run, s.config
    out_dir = Path(run.out)
    replace = check_out_folder(out_dir, overwrite=overwrite, resume=resume)
    main = context(cfg.device).is_main  # under torchrun, ranks > 0 train but write and say nothing
    say = say if main else (lambda _: None)
    bars = sys.stderr.isatty() if show_progress is None else bool(show_progress)
    with library_bars(bars):
        train_data, dev_data, carved = load_pairs(run, s.read, cfg.seed)
        # built before the old run is removed: --model OUT --out OUT --overwrite trains on from the saved model
        if built is not None:
            model = built
        elif run.model:
            model = create_model(run.model, seed=cfg.seed)
        else:  # the preset read once, in resolve_settings: its model part, new weights seeded as create_model does
            torch.manual_seed(cfg.seed)
            model = build_model(s.preset["model"])
    tuned_on_train = dev_is_train(run, train_data, dev_data)
    if tuned_on_train:
        warnings.warn(
            f"the dev pairs ({run.dev}) are the training pairs ({run.train}, same sha256): the best epoch"
            + (" and the threshold are" if run.threshold_strategy else " is")
            + " chosen on data the model was trained on, so dev metrics are not held-out estimates; pass other "
            "pairs with --dev, or --dev-fraction F to carve them off --train",
            stacklevel=3,
        )
    if replace and main:
        say(f"removing the old run in {out_dir} (--overwrite): {', '.join(clear_run(out_dir))}")
    make_folder(out_dir)
    dev_split = save_dev_split(dev_data, out_dir) if carved and main else None
    if carved:
        say(
            f"carved {len(dev_data)} dev pairs off the training pairs"
            + (f"; saved to {dev_split}" if dev_split else "")
        )
    settings = s.to_dict()
    if resume:
        teacher_cache.check_resume(out_dir, run.teacher)
    record = data_record(train_data, dev_data, carved)  # the gold pairs (silver ones are the teacher's row)
    teaching = None
    if run.teacher:  # the teacher runs once (or its cached outputs are read back), then is let go
        ways = {"device": checked[0], "resume": resume, "bars": bars, "say": say, "main": main}
        teaching = teach(run, cfg, model, train_data, out_dir, **ways)
        train_data = teaching.train_data
    if main:
        atomic_write_text(out_dir / "train_config.yaml", yaml.safe_dump(settings, sort_keys=False))
        write_json(out_dir / "train_data.json", record | ({"teacher": teaching.record} if teaching else {}))
    say(f"training on {len(train_data)} pairs" + (f", dev {len(dev_data)} pairs" if dev_data else ""))
    trackers = build_trackers(run.report_to, out_dir) if main else []
    ending = HeldEnd([*check_callbacks(callbacks), *trackers], settings)  # on_train_end gets the decision too
    trainer = Trainer(
        model,
        cfg,
        train_data,
        dev_data,
        out_dir,
        show_progress=bars,
        epoch_lines=epoch_lines,
        callbacks=[ending],
        device=checked[0],
        loss_fn=checked[1],
        teacher=teaching.targets if teaching else None,
    )
    summary = trainer.train(resume)
    decision = None
    if run.threshold_strategy and main:
        best = load_model(out_dir)  # the saved best epoch
        decision = tune_decision(best, dev_data, run.threshold_strategy, calibrate=run.calibrate)
        if tuned_on_train:  # its "held-out" metrics are cross-validated over training pairs: say so in the file
            decision.data = {**(decision.data or {}), "held_out": False, "same_as_training_pairs": True}
        decision.to_json(out_dir / "decision.json")
    if not run.keep_checkpoint and main:
        checkpoint.clear(out_dir)
        teacher_cache.clear(out_dir)
    if main:  # the card again, now with the summary and the decision (models/card.py)
        write_card(out_dir, model)
    ending.finish({**summary, "decision": decision.to_dict() if decision is not None else None})
    n_dev = len(dev_data) if dev_data else None
    return FitResult(out_dir, summary, settings, len(train_data), n_dev, carved, dev_split, decision, main)
