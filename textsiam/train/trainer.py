"""Trainer: AdamW + linear warmup, gradient clipping, dynamic-padding batches (length-grouped for per-pair losses,
random for in-batch ones), per-epoch dev evaluation, best-checkpoint keeping, resumable epochs, a
``train_log.jsonl`` and callbacks.

How a step runs depends on the model's ``training_kind`` (:mod:`textsiam.train.steps`); a model without gradient
training (a closed-form fit, or nothing to train) goes to :func:`textsiam.train.no_gradient.fit_without_gradients`.
Under torchrun every rank trains; only the main rank (``is_main``) scores the dev pairs, writes and calls back."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_model as load_weights
from tqdm.auto import tqdm

from textsiam.data import PairData
from textsiam.device import resolve_device
from textsiam.distributed import context
from textsiam.errors import ConfigError, TrainingDivergedError
from textsiam.eval.threshold import select_threshold
from textsiam.losses import build_loss
from textsiam.models.base import PairModel
from textsiam.train import checkpoint
from textsiam.train.batches import epoch_batches, groups_of, labels_of, resolve_grouping
from textsiam.train.callbacks import Callback
from textsiam.train.config import TrainConfig
from textsiam.train.distributed import DataParallel
from textsiam.train.early_stopping import EarlyStopping
from textsiam.train.evaluation import evaluate_outputs, pick_metric
from textsiam.train.no_gradient import fit_without_gradients
from textsiam.train.optim import build_optimizer, clipped_step, linear_warmup, seed_everything
from textsiam.train.records import RunRecords
from textsiam.train.steps import Steps, step_class
from textsiam.train.towers import apply_freeze

if TYPE_CHECKING:
    from textsiam.train.distill import TeacherTargets


@dataclass
class Run:
    """One gradient-training run: its steps, optimizer and schedule, and its clock (a resumed run adds the seconds
    and pairs of the epochs before the interruption, kept in the checkpoint, to its own)."""

    steps: Steps
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    total: int  # steps of the whole run
    seconds_before: float = 0.0
    pairs_before: int = 0
    started: float = 0.0  # time.perf_counter() when this process's first epoch began
    pairs_run: int = 0
    epoch_started: float = 0.0  # the epoch in progress: its start, its last step's loss, its mean loss
    last_loss: float = math.nan
    train_loss: float = math.nan

    def so_far(self) -> tuple[float, int]:
        """(seconds, pairs) of training so far, over the whole run."""
        return self.seconds_before + time.perf_counter() - self.started, self.pairs_before + self.pairs_run


class Trainer:
    """Fine-tune a PairModel on pairs. ``out_dir`` receives the best model, ``train_log.jsonl`` and checkpoints.

    With ``dev_data`` each epoch is scored on it and the best epoch (by ``config.eval_metric``) is the one saved and
    left in ``model`` at the end; without it the last epoch is. ``show_progress`` draws progress bars;
    ``epoch_lines`` (default: as ``show_progress``) prints one line per epoch. ``callbacks``
    (:class:`textsiam.train.callbacks.Callback`) see the log records and may stop the run after an epoch.
    ``teacher`` (:class:`textsiam.train.distill.TeacherTargets`): a twin teacher's embeddings the student's are
    trained toward beside the pair loss.
    """

    def __init__(
        self,
        model: PairModel,
        config: TrainConfig,
        train_data: PairData,
        dev_data: PairData | None = None,
        out_dir: str | Path | None = None,
        show_progress: bool = True,
        epoch_lines: bool | None = None,
        callbacks: Sequence[Callback] | None = None,
        device: torch.device | None = None,
        loss_fn: torch.nn.Module | None = None,
        teacher: TeacherTargets | None = None,
    ) -> None:
        if len(train_data) == 0:
            raise ConfigError("the training data is empty")
        if train_data.label_kind == "none":
            raise ConfigError(f"{train_data.source}: training needs a label column; none was found")
        self.model, self.config, self.train_data, self.dev_data = model, config, train_data, dev_data
        self.out_dir = Path(out_dir) if out_dir else None
        ctx = context(config.device)  # joins a torchrun process group if there is one
        self.parallel = DataParallel(ctx)
        # fit resolves config.device once and hands it over; a Trainer built by hand resolves it here
        self.device = ctx.device(config.device) if ctx.active else device or resolve_device(config.device)
        self.is_main = ctx.is_main  # the other ranks neither score the dev pairs nor write nor print
        self.show_progress = show_progress and self.is_main
        self.epoch_lines = (show_progress if epoch_lines is None else epoch_lines) and self.is_main
        self.evaluates = self.is_main and dev_data is not None
        # fit builds the loss before reading data (a bad loss argument fails early) and hands it over
        self.loss_fn = loss_fn if loss_fn is not None else build_loss(config.loss, **config.loss_args)
        if train_data.negatives is not None and not self.loss_fn.takes_negatives:
            self.train_data = train_data = train_data.negatives_as_pairs()  # (anchor, negative): dissimilar pairs
        # None: no gradient steps (a closed-form fit); a twin teacher's targets bring their own (train/distill.py)
        self.steps_class = step_class(model) if teacher is None else teacher.steps_class(model)
        if self.steps_class is not None and not type(model).submodel_keys:  # a two-stage model trains nothing
            self.steps_class.check(model, self.loss_fn, config.loss)
        self.group_by_length = resolve_grouping(config.group_by_length, self.loss_fn, config.loss)
        self.metric = pick_metric(config.eval_metric, dev_data, model) if dev_data is not None else None
        stopper = [EarlyStopping(config.early_stopping, metric=self.metric)] if config.early_stopping else []
        # the weights trained beside the model's: the loss's own, and a distillation projection (not saved in it)
        self.own = self.loss_fn if teacher is None else torch.nn.ModuleList([self.loss_fn, teacher])
        self.records = RunRecords(self.out_dir, self.is_main, [*(callbacks or ()), *stopper])
        self.best: float | None = None
        self._best_state: dict[str, torch.Tensor] | None = None
        self.fit_info: dict[str, Any] | None = None  # what fitting the towers reported (logged in a clean folder)
        self.run: Run | None = None  # the gradient-training run, once train() has started it

    # -- main loop ------------------------------------------------------------------------------------------------
    def train(self, resume: bool = False) -> dict[str, Any]:
        """Run all epochs (continuing from the last checkpoint if ``resume``); returns a summary dict."""
        cfg, model = self.config, self.model
        seed_everything(cfg.seed)
        model.decision = None  # a threshold tuned for the old weights does not fit the new ones
        self.records.begin(cfg.to_dict())
        self._prepare_towers()
        if self.steps_class is None or not any(p.requires_grad for p in model.parameters()):
            return fit_without_gradients(self, resume)
        run, first_epoch, step = self._start_run(resume)
        stopped = None
        for epoch in range(first_epoch, cfg.epochs + 1):
            step = self._epoch(run, epoch, step)
            if self._end_epoch(epoch, run, step):
                stopped = epoch
                break
        elapsed, pairs_seen = run.so_far()  # the whole run, the epochs before a resume included
        run.steps.close()
        self._restore_best()
        summary = {
            "epochs": cfg.epochs,
            "steps": step,
            "train_seconds": elapsed,
            "pairs_per_second": pairs_seen / elapsed if elapsed else None,
            "batches": "length-grouped" if self.group_by_length else "random",
            "best_metric": self.metric,
            "best_value": self.best,
        } | ({"stopped_after_epoch": stopped} if stopped is not None else {})
        if self.dev_data is None:
            self.records.save_model(model)  # no dev set: the last epoch is the model
        self.records.end(summary)
        return summary

    def _prepare_towers(self) -> None:
        """Fit tower vocabularies on the training texts (once), and a closed-form model (ridge-map) on the training
        pairs, then freeze the towers the config freezes."""
        data = self.train_data
        self.fit_info = self.model.fit_vocabulary(data.a, data.b)
        closed_form = self.model.fit_closed_form(data)
        if closed_form is not None:
            self.fit_info = {**(self.fit_info or {}), "closed_form": closed_form}
        if self.fit_info and self.show_progress:
            tqdm.write(f"fitted tower vocabularies on the training texts: {self.fit_info}")
        apply_freeze(self.model, self.config.towers)

    def start_records(self) -> None:
        """A fresh run: a clean output folder, then the towers' fitting record."""
        self.records.start_fresh()
        if self.fit_info:
            self.records.log({"type": "fit_vocabulary", "towers": self.fit_info})

    def _start_run(self, resume: bool) -> tuple[Run, int, int]:
        """Model on the device, the step machinery, optimizer and schedule; returns the run and the (first epoch,
        step) to start from: from the checkpoint when resuming."""
        cfg, model = self.config, self.model
        model.to(self.device)
        self.own.to(self.device)
        steps = self.steps_class(model, self.loss_fn, cfg, self.device, self.parallel, self.train_data)
        total = math.ceil(self.train_data.epoch_size(self.loss_fn.in_batch) / cfg.batch_size) * cfg.epochs
        optimizer = build_optimizer(model, cfg, self.own)
        self.run = run = Run(steps, optimizer, linear_warmup(optimizer, int(cfg.warmup_ratio * total), total), total)
        first_epoch, step = 1, 0
        if not resume:
            self.start_records()
        else:
            if self.out_dir is None or not checkpoint.exists(self.out_dir):
                raise ConfigError(f"nothing to resume: no checkpoint in {self.out_dir}; run without --resume")
            state = checkpoint.load(self.out_dir, model, optimizer, run.scheduler, cfg.to_dict(), self.own)
            self.best = state.get("best")
            run.seconds_before = float(state.get("train_seconds") or 0.0)
            run.pairs_before = int(state.get("pairs_seen") or 0)
            self.records.resumed_at(state["step"])  # ranks > 0 read the checkpoint but write nothing
            first_epoch, step = state["epoch"] + 1, state["step"]
        run.started = time.perf_counter()
        return run, first_epoch, step

    def _epoch(self, run: Run, epoch: int, step: int) -> int:
        """One epoch of steps; returns the step count after it."""
        cfg, model, optimizer, scheduler = self.config, self.model, run.optimizer, run.scheduler
        run.epoch_started = time.perf_counter()
        data = self.train_data.epoch_pairs(epoch, model, in_batch=self.loss_fn.in_batch)  # image data: new pairs
        labels_all, lengths = labels_of(data, self.loss_fn, model), run.steps.epoch(data)
        groups_all = groups_of(data, self.loss_fn)  # captions of one image: positives of each other (or None)
        run.steps.to_train_mode()
        batches = epoch_batches(lengths, cfg.batch_size, cfg.seed * 1000 + epoch, self.group_by_length)
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", disable=not self.show_progress, unit="batch")
        epoch_loss = torch.zeros((), device=self.device)  # summed on the device: no sync per step
        loss, seen = torch.full((), math.nan), 0
        for idx in bar:
            piece = self.parallel.shard(idx)  # this rank's rows (all of them in one process)
            optimizer.zero_grad(set_to_none=True)
            groups = None if groups_all is None else groups_all[idx].to(self.device)
            loss = self._loss(run, piece, labels_all[idx].to(self.device), groups)
            epoch_loss += loss.detach() * len(idx)
            if not torch.isfinite(loss):  # checked before the update, so the weights stay finite
                raise TrainingDivergedError(
                    f"loss became {loss.item()} at epoch {epoch}, step {step + 1}; lower --lr or check the labels"
                )
            if not self.loss_fn.drives_towers:  # GradCache ran its own backward pass, mini-batch by mini-batch
                loss.backward()
            clipped_step(optimizer, model.parameters(), cfg.max_grad_norm)
            scheduler.step()
            step, seen = step + 1, seen + len(idx)
            if step % cfg.log_every == 0 or step == run.total:
                value = loss.item()
                self.records.log(
                    {"type": "step", "epoch": epoch, "step": step, "loss": value, "lr": scheduler.get_last_lr()[0]}
                )
                bar.set_postfix(loss=f"{value:.4f}")
        run.last_loss, run.train_loss = loss.item(), epoch_loss.item() / max(1, len(labels_all))
        run.pairs_run += seen
        return step

    def _loss(self, run: Run, rows: list[int], labels: torch.Tensor, groups: torch.Tensor | None) -> torch.Tensor:
        return run.steps.loss(rows, labels, groups)

    def _end_epoch(self, epoch: int, run: Run, step: int) -> bool:
        """Dev scoring, the best model, the checkpoint and the callbacks after an epoch; True: a callback stops."""
        cfg, model = self.config, self.model
        record: dict[str, Any] = {"type": "epoch", "epoch": epoch, "step": step, "train_loss": run.train_loss}
        told: dict[str, Any] = {}
        if self.evaluates:
            outputs = run.steps.dev_outputs(self.dev_data.a, self.dev_data.b, cfg.eval_batch_size)
            metrics, scores = evaluate_outputs(outputs, self.dev_data, model)
            self.records.log({"type": "eval", "epoch": epoch, "step": step, "metrics": metrics})
            if scores is not None and self.dev_data.label_kind == "binary":  # the seed's curve: accuracy per epoch
                chosen = select_threshold(scores, self.dev_data.labels, "youden")  # in-sample: for the curve only
                record["dev_pair_accuracy"] = chosen.metrics["accuracy"]
            told["metrics"] = metrics
        self.records.log(record)
        if self.evaluates:
            value = float(told["metrics"][self.metric])
            if self.best is None or math.isnan(self.best) or value > self.best:  # NaN never stays the best
                self.best = value
                self._best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                self.records.save_model(model)
            self._epoch_line(epoch, run, f", dev {self.metric} {value:.4f} (best {self.best:.4f})")
        else:
            self._epoch_line(epoch, run, "")
        if cfg.save_checkpoints:
            state = {"epoch": epoch, "step": step, "best": self.best, "config": cfg.to_dict()}
            state |= dict(zip(("train_seconds", "pairs_seen"), run.so_far()))
            self.records.save_checkpoint(model, run.optimizer, run.scheduler, state, self.own)
        stop = self.records.epoch_end(epoch, record | told | {"best_value": self.best})
        return self.parallel.main_decides(stop, self.device)  # every rank stops after the same epoch

    def _restore_best(self) -> None:
        """Leave the best dev epoch in ``self.model`` (the Python model then matches the saved folder)."""
        if not self.evaluates:
            return
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)
        elif self.out_dir and (self.out_dir / "model.safetensors").exists():  # best epoch was before a resume
            load_weights(self.model, str(self.out_dir / "model.safetensors"))

    def _epoch_line(self, epoch: int, run: Run, dev: str) -> None:
        if self.epoch_lines:
            seconds = time.perf_counter() - run.epoch_started
            line = f"epoch {epoch}/{self.config.epochs}: last loss {run.last_loss:.4f}{dev}, {seconds:.1f} s"
            tqdm.write(line, file=sys.stderr)
