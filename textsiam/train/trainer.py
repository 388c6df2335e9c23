"""Trainer: AdamW + linear warmup, gradient clipping, dynamic-padding batches (length-grouped for per-pair losses,
random for in-batch ones), per-epoch dev evaluation, best-checkpoint keeping, resumable epochs and a
``train_log.jsonl``."""

from __future__ import annotations

import json
import math
import random
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model as load_weights
from tqdm.auto import tqdm

from textsiam.atomic import atomic_write_text, make_folder, write_json
from textsiam.data import PairData, length_grouped_batches
from textsiam.encoders.prepared import Prepared
from textsiam.errors import ConfigError, TrainingDivergedError
from textsiam.eval.threshold import select_threshold
from textsiam.losses import build_loss
from textsiam.models.base import PairModel
from textsiam.models.io import save_model
from textsiam.train import checkpoint
from textsiam.train.callbacks import Callback
from textsiam.train.config import TrainConfig
from textsiam.train.device import resolve_device
from textsiam.train.distributed import DataParallel
from textsiam.train.early_stopping import EarlyStopping
from textsiam.train.evaluation import evaluate_outputs, pick_metric
from textsiam.train.towers import SideEmbedder, apply_freeze, param_groups


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _optimizer(model: PairModel, cfg: TrainConfig, loss_fn: torch.nn.Module | None = None) -> torch.optim.Optimizer:
    """AdamW over the trainable weights: per tower (its lr multiplier), the rest, and the loss's own (e.g. a
    learnable temperature, not decayed)."""
    groups = param_groups(model, cfg.lr, cfg.weight_decay, cfg.towers)
    own = [p for p in loss_fn.parameters() if p.requires_grad] if loss_fn is not None else []
    if own:
        groups.append({"params": own, "lr": cfg.lr, "weight_decay": 0.0})
    # The fused kernel (one op for all tensors, CPU and CUDA) is several times faster than the per-tensor loop.
    return torch.optim.AdamW(groups, lr=cfg.lr, fused=True)


def clipped_step(optimizer: torch.optim.Optimizer, params: Iterable[torch.Tensor], max_norm: float | None) -> None:
    """``optimizer.step()`` after clipping the total gradient norm of ``params`` to ``max_norm``, exactly as
    ``clip_grad_norm_(params, max_norm)`` would.

    When the optimizer is fused and ``params`` are all the tensors it updates, the clipping factor goes to the fused
    kernel as ``grad_scale`` (it divides each gradient as it reads it, as under a gradient scaler) instead of a
    separate pass that multiplies every gradient: 3% of a MiniLM step at 2 threads (docs/benchmarks.md)."""
    if not max_norm:
        optimizer.step()
        return
    grads = [p.grad for p in params if p.grad is not None]
    factor = (max_norm / (torch.nn.utils.get_total_norm(grads) + 1e-6)).clamp(max=1.0)  # clip_grad_norm_'s
    updated = {id(p.grad) for group in optimizer.param_groups for p in group["params"] if p.grad is not None}
    if not optimizer.defaults.get("fused") or updated != {id(g) for g in grads}:
        torch._foreach_mul_(grads, factor)
        optimizer.step()
        return
    optimizer.grad_scale = 1.0 / factor  # read by the fused step
    try:
        optimizer.step()
    finally:
        del optimizer.grad_scale


def _linear_warmup(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _warn_distance_mismatch(loss_fn, model: PairModel) -> None:
    distance = loss_fn.get_config().get("distance")
    if distance and model.head is None and distance != model.similarity_name:
        warnings.warn(
            f"the loss measures {distance} distance but the model scores pairs by {model.similarity_name}: "
            f"pass loss_args {{'distance': '{model.similarity_name}'}} unless the mismatch is intended",
            stacklevel=3,
        )


def _resolve_grouping(group_by_length: bool | None, loss_fn, loss_name: str) -> bool:
    """Length-grouped batches (less padding, faster) unless the loss compares pairs within a batch."""
    if group_by_length is None:
        return not loss_fn.in_batch
    if group_by_length and loss_fn.in_batch:
        warnings.warn(
            f"group_by_length=True with the in-batch loss {loss_name!r}: every batch then holds pairs of similar "
            "length, so the loss never compares short with long ones (usually worse models); leave group_by_length "
            "unset for random batches",
            stacklevel=3,
        )
    return group_by_length


def truncate_log(path: Path, step: int) -> None:
    """Keep the log records up to the checkpoint's ``step``: the resumed run writes the later ones again. A line cut
    short by a kill is dropped too."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= step:
            kept.append(line + "\n")
    atomic_write_text(path, "".join(kept))


def _data_parallel(trainer: Trainer, device: str) -> DataParallel:
    """Join a torchrun process group if there is one; ranks other than 0 neither evaluate nor write nor print."""
    from textsiam.distributed import context

    ctx = context(device)
    if ctx.active:
        trainer.device = ctx.device(device)
        if not ctx.is_main:
            trainer.out_dir, trainer.dev_data, trainer.show_progress = None, None, False
    return DataParallel(ctx)


class Trainer:
    """Fine-tune a PairModel on pairs. ``out_dir`` receives the best model, ``train_log.jsonl`` and checkpoints.

    ``show_progress`` draws one bar per epoch on stderr; ``epoch_lines`` (default: same as ``show_progress``) prints
    one line per epoch on stderr instead, for logs that are not a terminal."""

    def __init__(
        self,
        model: PairModel,
        config: TrainConfig,
        train_data: PairData,
        dev_data: PairData | None = None,
        out_dir: str | Path | None = None,
        show_progress: bool = True,
        epoch_lines: bool | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if len(train_data) == 0:
            raise ConfigError("the training data is empty")
        if train_data.label_kind == "none":
            raise ConfigError(f"{train_data.source}: training needs a label column; none was found")
        self.model, self.config, self.train_data, self.dev_data = model, config, train_data, dev_data
        self.out_dir = Path(out_dir) if out_dir else None
        self._read_dir = self.out_dir
        self.show_progress = show_progress
        self.epoch_lines = show_progress if epoch_lines is None else epoch_lines
        self.device = resolve_device(config.device)
        self.parallel = _data_parallel(self, config.device)
        self.loss_fn = build_loss(config.loss, **config.loss_args)
        if getattr(train_data, "negatives", None) is not None and not self.loss_fn.takes_negatives:
            self.train_data = train_data = train_data.negatives_as_pairs()  # (anchor, negative) as dissimilar pairs
        if self.loss_fn.takes == "scores" and model.head is None:
            raise ConfigError(f"loss {config.loss!r} trains a learned head; this model has none (set 'head')")
        if (self.loss_fn.takes == "logits") != bool(model.classes):
            raise ConfigError(
                f"loss {config.loss!r} and the model's head do not fit: cross-entropy trains a multi-class head "
                "(pair-classifier), and a multi-class head trains only with cross-entropy"
            )
        if self.loss_fn.takes == "embeddings" and model.head is not None:
            raise ConfigError(
                f"this model scores pairs with a learned head, which the embedding loss {config.loss!r} never trains; "
                "use loss 'bce', or a model without a head"
            )
        _warn_distance_mismatch(self.loss_fn, model)
        self.group_by_length = _resolve_grouping(config.group_by_length, self.loss_fn, config.loss)
        self.metric = pick_metric(config.eval_metric, dev_data, model) if dev_data is not None else None
        self.callbacks = list(callbacks) if self.out_dir or not self.parallel.ctx.active else []  # main rank only
        if config.early_stopping is not None:
            if self.parallel.ctx.active:
                raise ConfigError("early_stopping is not supported under torchrun (only rank 0 sees the dev metric)")
            self.callbacks.append(EarlyStopping(config.early_stopping, metric=self.metric))
        self._stop = False
        self.best: float | None = None
        self._best_state: dict[str, torch.Tensor] | None = None

    # -- batches --------------------------------------------------------------------------------------------------
    def _epoch_batches(self, epoch: int, lengths: list[int]) -> list[list[int]]:
        cfg = self.config
        seed = cfg.seed * 1000 + epoch
        if self.group_by_length:
            return length_grouped_batches(lengths, cfg.batch_size, seed=seed)
        order = np.random.default_rng(seed).permutation(len(lengths)).tolist()
        return [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]

    def _embed(self, sides: tuple[Prepared, ...], rows: list[int]) -> tuple[torch.Tensor, ...]:
        """``(u, v)`` of the pairs at ``rows``, plus their extra negatives ``(rows, k, dim)`` when the data has them."""
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.config.amp and self.device.type == "cuda"):
            u, v = self._embedder.rows(sides[0], sides[1], rows)  # (piece, dim); static towers come from a cache
            if len(sides) == 2:
                return u, v
            k = self._negatives_per_pair
            flat = self._embedder.side_rows(sides[2], [r * k + j for r in rows for j in range(k)], "right")
            return u, v, flat.reshape(len(rows), k, -1)

    def _loss(self, sides: tuple[Prepared, ...], rows: list[int], labels: torch.Tensor) -> torch.Tensor:
        model = self.model
        if self._drives_towers:  # GradCache: the loss embeds mini-batches itself and runs the backward pass
            return self.loss_fn.backward_step(lambda chunk: self._embed(sides, rows[chunk.start : chunk.stop]),
                                              len(rows), labels)  # fmt: skip
        u, v, *negatives = self._embed(sides, rows)
        u, v = self.parallel.gather(u, v)  # (batch, dim) each: the whole global batch under torchrun
        u, v = u.float(), v.float()
        if negatives:
            return self.loss_fn(u, v, labels, negatives[0].float())
        if self.loss_fn.takes == "logits":  # labels are class indices
            return self.loss_fn(model.head(u, v), labels)
        if self.loss_fn.takes == "scores":
            return self.loss_fn(model.score(u, v), labels)
        return self.loss_fn(u, v, labels)

    def _epoch_data(self, epoch: int) -> tuple[torch.Tensor, tuple[Prepared, ...], np.ndarray]:
        """Labels, both sides' prepared items and the pair lengths of this epoch (image data may draw new pairs).

        The training texts are prepared (tokenized) once, before the first epoch. A pair's length is its longer
        side's for a twin (both sides share one padded batch) and the sum of its sides' otherwise."""
        data = self.train_data
        if hasattr(data, "epoch_pairs"):
            data = data.epoch_pairs(epoch, self.model, in_batch=self.loss_fn.in_batch)
            self._sides = None
        if self._sides is None:
            self._sides = self._embedder.prepare(data.a, data.b)
            negatives = getattr(data, "negatives", None)
            if negatives is not None:  # every negative of every pair, flat, through the right tower
                self._negatives_per_pair = len(negatives[0])
                flat = [n for row in negatives for n in row]
                self._sides = (*self._sides, self._embedder.prepare_side(flat, "right"))
        left, right = self._sides[:2]
        twin = self.model.left is self.model.right
        lengths = np.maximum(left.lengths, right.lengths) if twin else left.lengths + right.lengths
        return self._labels(data), self._sides, lengths

    def _setup(self, resume: bool = False) -> tuple[int, int]:
        """Towers fitted and frozen, model on the device, the step embedder, optimizer and schedule; returns the
        (first epoch, step) to start from. ``self.optimizer`` and ``self.scheduler`` are set."""
        cfg, model = self.config, self.model
        model.to(self.device)
        self.loss_fn.to(self.device)
        net = self.parallel.wrap(model)  # DistributedDataParallel under torchrun, else the model itself
        # under torchrun every step goes through the wrapped forward (no tower cache), so gradients are synced;
        # image data draws new pairs each epoch and its towers keep their own caches (augmented views)
        draws_pairs = hasattr(self.train_data, "epoch_pairs")
        cache = not self.parallel.ctx.active and not draws_pairs
        self._embedder = SideEmbedder(
            model, self.device, self.train_data.a, net=net, cache=cache, checkpoint_tokens=cfg.checkpoint_tokens
        )
        self._sides: tuple[Prepared, ...] | None = None
        self._drives_towers = self.loss_fn.drives_towers
        if self._drives_towers and self.parallel.ctx.active:
            raise ConfigError(f"loss {self.config.loss!r} runs its own backward pass, which torchrun training lacks")
        per_epoch = getattr(self.train_data, "epoch_size", lambda in_batch: len(self.train_data))(self.loss_fn.in_batch)
        self._total = math.ceil(per_epoch / cfg.batch_size) * cfg.epochs
        self.optimizer = _optimizer(model, cfg, self.loss_fn)
        self.scheduler = _linear_warmup(self.optimizer, int(cfg.warmup_ratio * self._total), self._total)
        return self._start(resume, self.optimizer, self.scheduler)

    # -- main loop ------------------------------------------------------------------------------------------------
    def train(self, resume: bool = False) -> dict[str, Any]:
        """Run all epochs (continuing from the last checkpoint if ``resume``); returns a summary dict."""
        cfg, model = self.config, self.model
        seed_everything(cfg.seed)
        model.decision = None  # a threshold tuned for the old weights does not fit the new ones
        self._prepare_towers(self.train_data.a, self.train_data.b)
        if not any(p.requires_grad for p in model.parameters()):
            return self._fit_only(resume)
        self._seconds_before, self._pairs_before = 0.0, 0  # of the epochs before a resume: from the checkpoint
        start_epoch, step = self._setup(resume)
        self._t0, self._pairs_run = time.perf_counter(), 0
        for callback in self.callbacks:
            callback.on_train_begin(cfg.to_dict())
        epochs_run = cfg.epochs
        for epoch in range(start_epoch, cfg.epochs + 1):
            step, _ = self._epoch(epoch, step)
            if self._stop:  # a callback (early stopping) ended the run; the best epoch is restored below
                epochs_run = epoch
                break
        elapsed, pairs_seen = self._run_so_far()  # the whole run, the epochs before a resume included
        self._embedder.close()
        self._sides = None  # the prepared (tokenized) training items are not kept past the run
        self._restore_best()
        summary = {
            "epochs": epochs_run,
            "stopped_early": self._stop,
            "steps": step,
            "train_seconds": elapsed,
            "pairs_per_second": pairs_seen / elapsed if elapsed else None,
            "batches": "length-grouped" if self.group_by_length else "random",
            "best_metric": self.metric,
            "best_value": self.best,
        }
        if self.out_dir:
            if self.dev_data is None:
                save_model(model, self.out_dir)  # no dev set: the last epoch is the model
            write_json(self.out_dir / "train_summary.json", summary)
        for callback in self.callbacks:
            callback.on_train_end(summary)
        return summary

    def _epoch(self, epoch: int, step: int) -> tuple[int, int]:
        """One epoch of steps (then dev evaluation and checkpoint); returns (step, pairs seen)."""
        cfg, model, optimizer, scheduler = self.config, self.model, self.optimizer, self.scheduler
        self._epoch_start = time.perf_counter()
        labels_all, sides, lengths = self._epoch_data(epoch)
        model.train()
        self._embedder.static_towers_to_eval()
        batches = self._epoch_batches(epoch, lengths)
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", disable=not self.show_progress, unit="batch")
        epoch_loss = torch.zeros((), device=self.device)  # summed on the device: no sync per step
        loss, seen = torch.full((), math.nan), 0
        for idx in bar:
            piece = self.parallel.shard(idx)  # this rank's rows (all of them in one process)
            optimizer.zero_grad(set_to_none=True)
            loss = self._loss(sides, piece, labels_all[idx].to(self.device))
            epoch_loss += loss.detach() * len(idx)
            if not torch.isfinite(loss):  # checked before the update, so the weights stay finite
                raise TrainingDivergedError(
                    f"loss became {loss.item()} at epoch {epoch}, step {step + 1}; lower --lr or check the labels"
                )
            if not self._drives_towers:
                loss.backward()
            clipped_step(optimizer, model.parameters(), cfg.max_grad_norm)
            scheduler.step()
            step, seen = step + 1, seen + len(idx)
            if step % cfg.log_every == 0 or step == self._total:
                value = loss.item()
                self._log(
                    {"type": "step", "epoch": epoch, "step": step, "loss": value, "lr": scheduler.get_last_lr()[0]}
                )
                bar.set_postfix(loss=f"{value:.4f}")
        self._epoch_loss = loss.item()
        self._pairs_run += seen
        self._end_epoch(epoch, step, optimizer, scheduler, epoch_loss.item() / max(1, len(labels_all)))
        return step, seen

    def _prepare_towers(self, a: list, b: list) -> None:
        """Fit tower vocabularies on the training texts (once), and a closed-form model (ridge-map) on the training
        pairs, then freeze the towers the config freezes."""
        self._fit_info = self.model.fit_vocabulary(a, b)  # logged once the output folder is clean (_start)
        fit = getattr(self.model, "fit_closed_form", None)
        if fit is not None:
            self._fit_info = {**(self._fit_info or {}), "closed_form": fit(self.train_data)}
        if self._fit_info and self.show_progress:
            tqdm.write(f"fitted tower vocabularies on the training texts: {self._fit_info}")
        apply_freeze(self.model, self.config.towers)

    def _labels(self, data: PairData) -> torch.Tensor:
        """Float labels in [0, 1]; class indices (by the head's class names) for a multi-class head."""
        if self.loss_fn.takes != "logits":
            return torch.as_tensor(data.scaled_labels(), dtype=torch.float32)
        classes = self.model.classes
        names = data.class_labels
        unknown = sorted(set(names) - set(classes))
        if unknown:
            raise ConfigError(f"{data.source}: classes {unknown} are not among the head's classes {classes}")
        return torch.as_tensor([classes.index(c) for c in names], dtype=torch.long)

    def _fit_only(self, resume: bool) -> dict[str, Any]:
        """A model with nothing to train (a tf-idf twin): fitting the towers was all; save it, score dev once."""
        if resume:
            raise ConfigError("this model has no trainable parameters, so there is nothing to resume")
        self._start(False, None, None)
        if self.dev_data is not None:
            outputs = self.model.pair_outputs(self.dev_data.a, self.dev_data.b, self.config.eval_batch_size)
            metrics, _ = evaluate_outputs(outputs, self.dev_data, self.model)
            self._log({"type": "eval", "epoch": 0, "step": 0, "metrics": metrics})
            self.best = float(metrics[self.metric])
        if self.out_dir:
            save_model(self.model, self.out_dir)
        summary = {"epochs": 0, "steps": 0, "train_seconds": 0.0, "trainable_parameters": 0}
        summary |= {"best_metric": self.metric, "best_value": self.best}
        if self.out_dir:
            write_json(self.out_dir / "train_summary.json", summary)
        return summary

    def _start(self, resume: bool, optimizer, scheduler) -> tuple[int, int]:
        """(first epoch, step) of this run: from the checkpoint when resuming, else a clean output folder."""
        if resume:
            folder = self.out_dir or self._read_dir  # ranks > 0 under torchrun read the checkpoint but write nothing
            if folder is None or not checkpoint.exists(folder):
                raise ConfigError(f"nothing to resume: no checkpoint in {folder}; run without --resume")
            state = checkpoint.load(folder, self.model, optimizer, scheduler, self.config.to_dict(), self.loss_fn)
            self.best = state.get("best")
            self._seconds_before = float(state.get("train_seconds") or 0.0)
            self._pairs_before = int(state.get("pairs_seen") or 0)
            truncate_log(self.out_dir / "train_log.jsonl", state["step"])
            return state["epoch"] + 1, state["step"]
        if self.out_dir:
            make_folder(self.out_dir)
            for stale in ("train_log.jsonl", "decision.json"):
                (self.out_dir / stale).unlink(missing_ok=True)
            checkpoint.clear(self.out_dir)
        if getattr(self, "_fit_info", None):
            self._log({"type": "fit_vocabulary", "towers": self._fit_info})
        return 1, 0

    def _restore_best(self) -> None:
        """Leave the best dev epoch in ``self.model`` (the Python model then matches the saved folder)."""
        if self.dev_data is None:
            return
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)
        elif self.out_dir and (self.out_dir / "model.safetensors").exists():  # best epoch was before a resume
            load_weights(self.model, str(self.out_dir / "model.safetensors"))

    def _end_epoch(self, epoch: int, step: int, optimizer, scheduler, train_loss: float) -> None:
        record: dict[str, Any] = {"type": "epoch", "epoch": epoch, "step": step, "train_loss": train_loss}
        if self.dev_data is not None:
            outputs = self._embedder.dev_outputs(self.dev_data.a, self.dev_data.b, self.config.eval_batch_size)
            metrics, scores = evaluate_outputs(outputs, self.dev_data, self.model)
            self._log({"type": "eval", "epoch": epoch, "step": step, "metrics": metrics})
            if scores is not None and self.dev_data.label_kind == "binary":  # the seed's curve: accuracy per epoch
                chosen = select_threshold(scores, self.dev_data.labels, "youden")  # in-sample: for the curve only
                record["dev_pair_accuracy"] = chosen.metrics["accuracy"]
        self._log(record)
        stops = [callback.on_epoch_end(epoch, record | {"metrics": metrics} if self.dev_data is not None else record)
                 for callback in self.callbacks]  # fmt: skip
        self._stop = any(stops)
        if self.dev_data is not None:
            value = float(metrics[self.metric])
            if self.best is None or math.isnan(self.best) or value > self.best:  # NaN never stays the best
                self.best = value
                self._best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
                if self.out_dir:
                    save_model(self.model, self.out_dir)
            self._epoch_line(epoch, f", dev {self.metric} {value:.4f} (best {self.best:.4f})")
        else:
            self._epoch_line(epoch, "")
        if self.out_dir and self.config.save_checkpoints:
            checkpoint.save(
                self.out_dir,
                self.model,
                optimizer,
                scheduler,
                {"epoch": epoch, "step": step, "best": self.best, "config": self.config.to_dict()}
                | dict(zip(("train_seconds", "pairs_seen"), self._run_so_far())),
                self.loss_fn,
            )

    def _run_so_far(self) -> tuple[float, int]:
        """(seconds, pairs) of training so far, over the whole run: a resumed run adds those of the epochs before
        the interruption (kept in the checkpoint) to its own."""
        return self._seconds_before + time.perf_counter() - self._t0, self._pairs_before + self._pairs_run

    def _epoch_line(self, epoch: int, dev: str) -> None:
        if self.epoch_lines:
            seconds = time.perf_counter() - self._epoch_start
            line = f"epoch {epoch}/{self.config.epochs}: last loss {self._epoch_loss:.4f}{dev}, {seconds:.1f} s"
            tqdm.write(line, file=sys.stderr)

    def _log(self, record: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_log(record)
        if self.out_dir:
            with open(self.out_dir / "train_log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
