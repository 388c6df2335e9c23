"""The teacher's outputs for one run, computed once and kept in the run folder.

``OUT/teacher.json`` says what they are (the teacher's name and the sha256 of its weights, its kind, the sha256 of
the training texts, and for silver pairs the sampling, count and seed); ``OUT/teacher_cache.safetensors`` holds
them: ``pairs (m, 2)`` text indices and ``scores (m,)`` of a cross-encoder teacher, or ``embeddings (texts, dim)``
of a twin teacher (several teachers: ``scores.0``, ``scores.1``, ... one per teacher, and a twin's
``gold_scores.N``). A run that finds both with the same description reuses the tensors (a resumed run never calls
its teacher again); a resumed run that finds another description is refused, since its checkpoint was trained on
other targets. Both files are written atomically. The tensors go with the checkpoint at the end of a run (unless
``keep_checkpoint``); ``teacher.json`` stays, so the run folder records what the student was distilled from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from textsiam.atomic import atomic_write, write_json
from textsiam.errors import ConfigError

RECORD, TENSORS = "teacher.json", "teacher_cache.safetensors"


def texts_sha256(texts: list[str]) -> str:
    """A fingerprint of the training texts in order (the cache's indices point into them)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def weights_sha256(model: torch.nn.Module) -> str:
    """sha256 over the model's weights (names, shapes and bytes, in name order): the same weights, the same hash."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def read(out_dir: Path, key: dict[str, Any], resume: bool) -> dict[str, torch.Tensor] | None:
    """The cached tensors when ``OUT/teacher.json`` describes ``key``; None when there are none (or, on a fresh
    run, when they describe something else); a ConfigError when a resumed run would change its teacher's targets."""
    record, tensors = Path(out_dir) / RECORD, Path(out_dir) / TENSORS
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if resume:  # the checkpoint was trained without these targets
            raise ConfigError(
                f"{out_dir} holds a run trained without a teacher (no readable {RECORD}); resume it without "
                "--teacher, or start a new run"
            ) from None
        return None
    same = isinstance(saved, dict) and saved.get("key") == key
    if not same and resume:
        diff = {k: (saved.get("key", {}).get(k), v) for k, v in key.items() if saved.get("key", {}).get(k) != v}
        raise ConfigError(
            f"{record}: this run was distilled with other teacher settings ({diff}, as saved -> now); resume with "
            "the same teacher, sampling and seed, or start a new run without --resume"
        )
    if not same or not tensors.is_file():
        return None
    try:
        return load_file(str(tensors))
    except Exception as err:  # safetensors raises its own error types for a damaged file
        raise ConfigError(f"{tensors} is damaged ({err}); delete it and run again (the teacher reruns)") from None


def check_resume(out_dir: Path, teacher: str | None) -> None:
    """A resumed run without a teacher whose folder says it had one is refused (its checkpoint learned from it)."""
    if not teacher and (Path(out_dir) / RECORD).is_file():
        raise ConfigError(
            f"{out_dir} holds a run distilled from a teacher ({Path(out_dir) / RECORD}); resume it with the same "
            "--teacher, or start a new run"
        )


def write(out_dir: Path, key: dict[str, Any], tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    """The tensors first, then ``teacher.json`` (so a record never points to tensors that are not there)."""
    atomic_write(Path(out_dir) / TENSORS, lambda tmp: save_file({k: v.contiguous() for k, v in tensors.items()}, tmp))
    write_json(Path(out_dir) / RECORD, {"key": key, **info})


def clear(out_dir: Path) -> None:
    """The end of a run: the tensors go (the record stays)."""
    (Path(out_dir) / TENSORS).unlink(missing_ok=True)
