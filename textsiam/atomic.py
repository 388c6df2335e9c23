"""Atomic file writes: readers see the old file or the new one, never half of one.

A path that cannot be written (a folder where a file should go, a file where a folder should go, no permission, a
full disk) raises :class:`~textsiam.errors.OutputError` naming the path and the reason, not a bare ``OSError``.

The temp file (or folder) is ``.NAME.textsiam-PID-RANDOM.tmp`` next to the target. A writer killed with SIGKILL
leaves one behind; the next atomic write into that folder removes every such file whose writer process is gone
(those of live writers are left alone). No reader looks at these names: a model folder is ``config.json`` +
``model.safetensors``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from textsiam.errors import OutputError

_TEMP = re.compile(r"^\..+\.textsiam-(\d+)-[^.]+\.tmp$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def is_temp_name(name: str) -> bool:
    """True for the name of an atomic write's temp file or folder (``.NAME.textsiam-PID-RANDOM.tmp``)."""
    return _TEMP.match(name) is not None


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.textsiam-{os.getpid()}-"


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temp files (and folders) of atomic writes whose writer process no longer runs (killed mid-write)."""
    removed = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return removed
    for name in names:
        match = _TEMP.match(name)
        if match and not _alive(int(match.group(1))):
            stale = Path(folder, name)
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` on a temp file in the same folder, fsync it, then ``os.replace`` it onto ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _replace_with(path, write)
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(path, err, folder=False)}") from err


def _replace_with(path: Path, write: Callable[[str], Any]) -> Path:
    mode = path.stat().st_mode & 0o777 if path.exists() else _new_file_mode()
    remove_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)  # after writing: mkstemp gives 0600, and some writers (safetensors) recreate the file
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def make_folder(path: str | Path) -> Path:
    """Create the output folder ``path`` with its parents (nothing to do when it exists); OutputError if it cannot."""
    path = Path(path)
    check_folder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the folder {path}: {_reason(path, err, folder=True)}") from err
    return path


def check_folder(path: str | Path) -> None:
    """OutputError when ``path`` cannot become a folder because it, or a folder above it, is a file; creates nothing
    (for checks before any work starts)."""
    path = Path(path)
    blocker = _file_in_the_way(path)
    if blocker is not None:
        raise OutputError(f"cannot create the folder {path}: {_file_reason(blocker)}")


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing path at or above ``folder`` when it is not a folder, else None."""
    for p in (folder, *folder.parents):
        if p.exists():
            return None if p.is_dir() else p
    return None


def _file_reason(blocker: Path) -> str:
    return f"{blocker} is a file, not a folder; choose another path"


def _reason(path: Path, err: OSError, *, folder: bool) -> str:
    """Why ``path`` (a file, or a folder when ``folder``) could not be written, in words, with the fix."""
    blocker = _file_in_the_way(path if folder else path.parent)
    if blocker is not None:
        return _file_reason(blocker)
    if not folder and path.is_dir():
        return "it is a folder; give a file name"
    return f"{err.strerror or err}; choose another path"


def _new_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0666 minus the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically; NaN / infinity become ``null`` (JSON has no NaN)."""
    return atomic_write_text(path, json.dumps(_finite(obj), indent=2, allow_nan=False) + "\n")


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temp folder next to ``path`` to fill; on success it is renamed onto ``path`` (new or empty), so a
    reader never sees half a folder; on error it is removed."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OutputError(f"{path} already exists and is not an empty folder; choose a new folder or remove it")
    make_folder(path.parent)
    remove_stale_temps(path.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent))
    except OSError as err:
        raise OutputError(f"cannot create the folder {path}: {_reason(path, err, folder=True)}") from err
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp gives 0700
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
