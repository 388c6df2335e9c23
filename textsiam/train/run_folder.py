"""What a training run folder holds, and replacing an old run by a new one (``fit(overwrite=True)``).

A run folder's own files are the names textsiam writes there: the model (``config.json``, ``model.safetensors``,
one asset folder per tower: ``encoder/`` or ``left/`` and ``right/``), ``decision.json``, the carved dev split
(``dev_split.tsv`` / ``.jsonl`` / ``.images.tsv``), ``train_config.yaml``, ``train_log.jsonl``,
``train_summary.json``, ``train_data.json``, a teacher's ``teacher.json`` and ``teacher_cache.safetensors``, the
model card ``README.md`` (when textsiam wrote it), the resumable ``checkpoint/`` (with ``.checkpoint.old`` /
``.checkpoint.tmp`` of a swap), a ``report/`` folder holding ``report.html`` (``textsiam evaluate --report
OUT/report``) and the temp files of atomic writes.

Decision: ``overwrite`` deletes only those names. A folder that also holds anything else (a data file, notes, a
folder of the user's) is refused with the names listed, because textsiam cannot know whether that file belongs to
the old run or to the user, and deleting a user's file is the one mistake that cannot be undone; the user moves
it out (or picks another folder) and runs again. Without ``overwrite`` a folder holding any of a run's own files
is refused too, so a run never replaces another one silently. ``resume`` continues the run in place and is never
an overwrite.

The old run's files are removed before the new run writes anything, ``config.json`` first: from that moment the
folder no longer loads as a model, and the new model's ``config.json`` is written last (``saving.py``), so the
folder never holds a model whose files come from two runs, not even after a kill in the middle.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from textsiam.atomic import is_temp_name
from textsiam.errors import ConfigError, OutputError
from textsiam.models.card import CARD, MARK
from textsiam.models.io import tower_folders

RUN_FILES = (
    "config.json",  # first: without it the folder is no model, whatever else is still there
    "decision.json",
    "model.safetensors",
    "train_summary.json",
    "train_data.json",
    "README.md",
    "train_log.jsonl",
    "train_config.yaml",
    "dev_split.tsv",
    "dev_split.jsonl",
    "dev_split.images.tsv",
    "teacher.json",  # distillation (train/teacher_cache.py): what the teacher gave, and its cached outputs
    "teacher_cache.safetensors",
)
RUN_FOLDERS = (  # and the tower asset folders of the registered pair models (models.io.tower_folders)
    "checkpoint",
    ".checkpoint.old",
    ".checkpoint.tmp",
    "report",
    "mlruns",  # --report-to mlflow
)


def _is_run_entry(path: Path) -> bool:
    if is_temp_name(path.name):
        return True
    if path.name == "report":  # a common name: ours only when it holds what write_report writes
        return path.is_dir() and not path.is_symlink() and (path / "report.html").is_file()
    if path.name == "runs":  # --report-to tensorboard: ours when it holds event files
        return path.is_dir() and not path.is_symlink() and any(path.glob("events.out.tfevents.*"))
    if path.name == CARD:  # a common name too: ours only when it is the card textsiam wrote
        return path.is_file() and not path.is_symlink() and _is_card(path)
    if path.name in RUN_FOLDERS or path.name in tower_folders():
        return path.is_dir() and not path.is_symlink()
    return path.name in RUN_FILES and path.is_file() and not path.is_symlink()


def _is_card(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return MARK in f.read(4096)
    except OSError:
        return False


def run_entries(folder: str | Path) -> tuple[list[Path], list[Path]]:
    """``(the run's own files and folders, everything else)`` directly inside ``folder`` (empty when it is absent)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    entries = sorted(folder.iterdir())
    return [p for p in entries if _is_run_entry(p)], [p for p in entries if not _is_run_entry(p)]


def check_out_folder(folder: str | Path, *, overwrite: bool, resume: bool) -> bool:
    """Refuse an output folder that already holds a run, unless ``overwrite`` (and then only one holding nothing
    but a run's own files). Returns True when there is an old run to remove with :func:`clear_run`."""
    if resume and overwrite:
        raise ConfigError(
            "resume continues the run already in the output folder and overwrite replaces it: pass one of "
            "--resume / --overwrite, not both"
        )
    if resume:
        return False
    ours, others = run_entries(folder)
    if not ours:
        return False
    names = _names(ours)
    if not overwrite:
        raise ConfigError(
            f"{folder} already holds a textsiam run ({names}); pass --overwrite (overwrite=True) to replace it, "
            "--resume to continue its interrupted run, or choose another --out"
        )
    if others:
        raise ConfigError(
            f"{folder} holds a textsiam run and also files textsiam did not write ({_names(others)}); --overwrite "
            "removes only a run's own files and never deletes yours: move them out or choose another --out"
        )
    return True


def clear_run(folder: str | Path) -> list[str]:
    """Delete a run's own files from ``folder`` (``config.json`` first); returns their names. Anything else is left
    as it is (:func:`check_out_folder` has refused a folder holding anything else)."""
    folder = Path(folder)
    ours, _ = run_entries(folder)
    order = {name: i for i, name in enumerate(RUN_FILES)}
    ours.sort(key=lambda p: order.get(p.name, len(order)))
    for path in ours:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as err:
            raise OutputError(
                f"cannot remove {path} of the old run ({err.strerror or err}); remove it by hand or choose another "
                "--out"
            ) from err
    return [p.name for p in ours]


def _names(paths: list[Path], shown: int = 8) -> str:
    names = [p.name + ("/" if p.is_dir() else "") for p in paths]
    more = f", ... {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
