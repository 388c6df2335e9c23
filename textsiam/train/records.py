"""What a training run writes and tells: the output folder (``train_log.jsonl``, the best model, checkpoints,
``train_summary.json``) and the callbacks. Only the main rank writes or calls back; each write below says so."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textsiam.atomic import atomic_write_text, make_folder, write_json
from textsiam.models.base import PairModel
from textsiam.models.io import save_model
from textsiam.train import checkpoint
from textsiam.train.callbacks import Callback, check_callbacks


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


class RunRecords:
    """The run folder ``out_dir`` (None: nothing written) and the callbacks, for the rank given by ``is_main``: the
    other ranks of a torchrun group read the folder (to resume) but write nothing and call no callback."""

    def __init__(self, out_dir: Path | None, is_main: bool, callbacks: Sequence[Callback] | None = None) -> None:
        self.out_dir, self.is_main = out_dir, is_main
        self.callbacks = check_callbacks(callbacks)

    def begin(self, settings: dict[str, Any]) -> None:
        if self.is_main:
            for cb in self.callbacks:
                cb.on_train_begin(settings)

    def start_fresh(self) -> None:
        """A clean output folder: no log, decision or checkpoint of an earlier run."""
        if self.is_main and self.out_dir:
            make_folder(self.out_dir)
            for stale in ("train_log.jsonl", "decision.json"):
                (self.out_dir / stale).unlink(missing_ok=True)
            checkpoint.clear(self.out_dir)

    def resumed_at(self, step: int) -> None:
        """Resuming from the checkpoint of ``step``: the log keeps the records up to it."""
        if self.is_main and self.out_dir:
            truncate_log(self.out_dir / "train_log.jsonl", step)

    def log(self, record: dict[str, Any]) -> None:
        """One record: appended to ``train_log.jsonl`` and passed to each callback's ``on_log``."""
        if not self.is_main:
            return
        if self.out_dir:
            with open(self.out_dir / "train_log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
        for cb in self.callbacks:
            cb.on_log(record)

    def epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        """Each callback's ``on_epoch_end`` (all of them are called); True when one of them asks to stop."""
        if not self.is_main:
            return False
        return any([cb.on_epoch_end(epoch, record) for cb in self.callbacks])

    def save_model(self, model: PairModel) -> None:
        if self.is_main and self.out_dir:
            save_model(model, self.out_dir)

    def save_checkpoint(self, model, optimizer, scheduler, state: dict[str, Any], loss_fn) -> None:
        if self.is_main and self.out_dir:
            checkpoint.save(self.out_dir, model, optimizer, scheduler, state, loss_fn)

    def end(self, summary: dict[str, Any]) -> None:
        """``train_summary.json``, then each callback's ``on_train_end``."""
        if not self.is_main:
            return
        if self.out_dir:
            write_json(self.out_dir / "train_summary.json", summary)
        for cb in self.callbacks:
            cb.on_train_end(summary)
