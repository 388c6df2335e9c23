"""Resumable per-epoch checkpoints in ``OUT/checkpoint/``: weights as safetensors, optimizer and scheduler state
through ``torch.load(weights_only=True)`` (tensors and plain containers only, never arbitrary pickles)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from textsiam.errors import ConfigError
from textsiam.models.base import PairModel

# Settings that may change between an interrupted run and its resumption without changing the result.
_FREE_TO_CHANGE = {"device", "amp", "log_every", "eval_batch_size", "save_checkpoints", "checkpoint_tokens"}


def _dir(out_dir: Path) -> Path:
    return Path(out_dir) / "checkpoint"


def _old(out_dir: Path) -> Path:
    return Path(out_dir) / ".checkpoint.old"


def _current(out_dir: Path) -> Path | None:
    """The complete checkpoint folder, or the previous one if a crash hit between the two renames of ``save``."""
    for folder in (_dir(out_dir), _old(out_dir)):
        if (folder / "state.json").exists():
            return folder
    return None


def exists(out_dir: Path) -> bool:
    return _current(out_dir) is not None


def clear(out_dir: Path) -> None:
    for folder in (_dir(out_dir), _old(out_dir), Path(out_dir) / ".checkpoint.tmp"):
        shutil.rmtree(folder, ignore_errors=True)


def save(
    out_dir: Path, model: PairModel, optimizer, scheduler, state: dict[str, Any], loss: torch.nn.Module | None = None
) -> None:
    """Write the checkpoint into a temp folder, then swap it in, so a crash never leaves a half checkpoint.

    ``loss``: a loss with weights of its own (InfoNCE's learnable temperature); they are saved beside the
    optimizer state and restored by :func:`load`."""
    final, tmp, old = _dir(out_dir), Path(out_dir) / ".checkpoint.tmp", _old(out_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    extra = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "loss": loss.state_dict() if loss is not None else {},
    }
    torch.save(extra, tmp / "optim.pt")
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def load(
    out_dir: Path, model: PairModel, optimizer, scheduler, config: dict[str, Any], loss: torch.nn.Module | None = None
) -> dict[str, Any]:
    """Restore model, optimizer, scheduler, RNG and the loss's own weights (when ``loss`` has any); refuse a
    checkpoint made with another recipe or model."""
    folder = _current(out_dir)
    state = _read_state(folder / "state.json")
    saved = state.get("config", {})
    changed = sorted(k for k in set(saved) | set(config) if k not in _FREE_TO_CHANGE and saved.get(k) != config.get(k))
    if changed:
        diff = ", ".join(f"{k}: {saved.get(k)!r} -> {config.get(k)!r}" for k in changed)
        raise ConfigError(
            f"{folder} was made with other training settings ({diff}); resume with the same settings "
            "or start a new run without --resume"
        )
    try:
        load_model(model, str(folder / "model.safetensors"))
    except RuntimeError as err:
        raise ConfigError(f"{folder} holds weights of another model architecture: {str(err)[:300]}") from None
    extra = _read_optim(folder / "optim.pt")
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    torch.set_rng_state(extra["torch_rng"])
    _load_loss(loss, extra.get("loss") or {}, folder)
    return state


def _read_state(path: Path) -> dict[str, Any]:
    """The checkpoint's ``state.json``: a JSON object with the epoch and step done (and the training settings)."""
    fix = f"delete {path.parent} and start the run again with --overwrite (no --resume)"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path} is not valid JSON ({err}), so the run cannot be resumed from it; {fix}") from None
    ints = ("epoch", "step")
    if not isinstance(state, dict) or not all(isinstance(state.get(k), int) for k in ints):
        raise ConfigError(f"{path} is not a checkpoint state textsiam wrote (it needs 'epoch' and 'step'); {fix}")
    if not isinstance(state.get("config", {}), dict):
        raise ConfigError(f"{path}: 'config' must be an object of training settings; {fix}")
    return state


def _load_loss(loss: torch.nn.Module | None, saved: dict[str, Any], folder: Path) -> None:
    if loss is None or not loss.state_dict():
        return
    if not saved:
        raise ConfigError(
            f"{folder} lacks the loss's own weights (e.g. a learnable temperature), so resuming would restart them; "
            "start a new run without --resume"
        )
    try:
        loss.load_state_dict(saved)
    except RuntimeError as err:
        raise ConfigError(f"{folder} holds the weights of another loss: {str(err)[:300]}") from None


def _read_optim(path: Path) -> dict[str, Any]:
    """Optimizer, scheduler and RNG state: tensors and plain containers only; any other pickle is refused."""
    try:
        extra = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, EOFError, RuntimeError, OSError) as err:
        raise ConfigError(
            f"{path} is not an optimizer state textsiam wrote: it is damaged or holds pickled Python objects, "
            f"which textsiam never loads ({type(err).__name__}). Delete {path.parent} and start again without "
            "--resume"
        ) from None
    if not isinstance(extra, dict) or not {"optimizer", "scheduler", "torch_rng"} <= set(extra):
        raise ConfigError(
            f"{path} lacks the optimizer/scheduler/RNG state textsiam writes; delete {path.parent} and start "
            "again without --resume"
        )
    return extra
