"""Resumable per-epoch checkpoints in ``OUT/checkpoint/``: weights as safetensors, optimizer and scheduler state
through ``torch.load(weights_only=True)`` (tensors and plain containers only, never arbitrary pickles)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from textsiam.models.base import PairModel


def _dir(out_dir: Path) -> Path:
    return Path(out_dir) / "checkpoint"


def exists(out_dir: Path) -> bool:
    return (_dir(out_dir) / "state.json").exists()


def save(out_dir: Path, model: PairModel, optimizer, scheduler, state: dict[str, Any]) -> None:
    """Write the checkpoint into a temp folder, then swap it in, so a crash never leaves a half checkpoint."""
    final, tmp = _dir(out_dir), Path(out_dir) / ".checkpoint.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()},
        tmp / "optim.pt",
    )
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    old = Path(out_dir) / ".checkpoint.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def load(out_dir: Path, model: PairModel, optimizer, scheduler) -> dict[str, Any]:
    folder = _dir(out_dir)
    load_model(model, str(folder / "model.safetensors"))
    extra = torch.load(folder / "optim.pt", weights_only=True, map_location="cpu")
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    torch.set_rng_state(extra["torch_rng"])
    return json.loads((folder / "state.json").read_text())
