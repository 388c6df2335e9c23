"""An embedding index on disk: a folder of three files (the serving process reads exactly these).

``index.json``       ``{"model": ..., "side": "right", "similarity": ..., "count": n, "dim": d}``
``embeddings.npy``   float32 ``(n, d)``: the corpus through the model's right tower, row i = ``ids[i]``
``ids.json``         the n corpus ids (row numbers of the corpus file, or the values of its id column)

An approximate (faiss) index adds ``faiss.index`` and ``"ann": {...}`` to index.json; the three files stay.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.atomic import atomic_write, write_json
from textsiam.errors import DataError, shown
from textsiam.registry import SIMILARITIES

INDEX_FILES = ("index.json", "embeddings.npy", "ids.json")


@dataclass
class Index:
    """Corpus embeddings (maybe memory-mapped), their ids, and what produced them."""

    embeddings: np.ndarray  # (count, dim) float32
    ids: list[Any]
    model: str
    similarity: str
    side: str = "right"
    extra: dict[str, Any] = field(default_factory=dict)
    ann: Any = None  # a loaded faiss index over the same rows (textsiam.index.ann), searched instead when set

    @property
    def meta(self) -> dict[str, Any]:
        count, dim = (int(n) for n in self.embeddings.shape)
        return {"model": self.model, "side": self.side, "similarity": self.similarity, "count": count, "dim": dim}

    @property
    def query_side(self) -> str:
        """Queries go through the other tower: an index of right-side items is searched with left-side queries."""
        return "left" if self.side == "right" else "right"

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])


def is_index(folder: str | os.PathLike) -> bool:
    return all((Path(folder) / name).is_file() for name in INDEX_FILES)


def write_meta(folder: Path, meta: dict[str, Any], ids: list[Any]) -> None:
    write_json(folder / "ids.json", ids)
    write_json(folder / "index.json", meta)  # last: a folder with index.json is complete


def save_index(index: Index, folder: str | os.PathLike) -> Path:
    """Write the three files atomically (index.json last, so its presence means the folder is complete)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    array = np.ascontiguousarray(index.embeddings, dtype=np.float32)
    atomic_write(folder / "embeddings.npy", lambda tmp: _save_npy(tmp, array))
    write_meta(folder, {**index.meta, **index.extra}, list(index.ids))
    return folder


def _save_npy(tmp: str, array: np.ndarray) -> None:
    with open(tmp, "wb") as f:  # np.save on a path would append ".npy" to the temp name
        np.save(f, array, allow_pickle=False)


def load_index(folder: str | os.PathLike, mmap: bool = True) -> Index:
    """Read and check an index folder (the embeddings memory-mapped unless ``mmap=False``); every inconsistency is a
    DataError naming the file and the fix."""
    folder = Path(folder)
    meta = _read_json(folder / "index.json")
    _check_meta(meta, folder / "index.json")
    ids = _read_json(folder / "ids.json")
    if not isinstance(ids, list) or not ids_are_valid(ids):
        raise DataError(
            f"must be a JSON list of strings or a list of integers; {_REBUILD}", path=str(folder / "ids.json")
        )
    embeddings = _read_npy(folder / "embeddings.npy", mmap)
    _check_rows(embeddings, ids, meta, folder / "embeddings.npy")
    core = {"model": meta.get("model", ""), "similarity": meta["similarity"], "side": meta["side"]}
    extra = {k: v for k, v in meta.items() if k not in (*core, "count", "dim")}
    return Index(embeddings, ids, **core, extra=extra)


def ids_are_valid(ids: list[Any]) -> bool:
    """Index ids are all strings or all integers (what ``ids.json`` may hold and the service answers with)."""
    return all(_is(v, str) for v in ids) or all(_is(v, int) for v in ids)


_REBUILD = "rebuild the index with `textsiam search --corpus FILE --index DIR`"
_REQUIRED = ("side", "similarity", "count", "dim")


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _check_present(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"missing; an index folder needs {', '.join(INDEX_FILES)}; {_REBUILD}", path=str(path))


def _read_json(path: Path) -> Any:
    _check_present(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"not valid JSON ({err}); {_REBUILD}", path=str(path)) from None


def _check_meta(meta: Any, path: Path) -> None:
    if not isinstance(meta, dict) or not set(_REQUIRED) <= set(meta):
        raise DataError(f"must be an object with {', '.join(_REQUIRED)}; {_REBUILD}", path=str(path))
    if meta["side"] not in ("left", "right"):
        raise DataError(f"side must be 'left' or 'right', got {shown(meta['side'])}; {_REBUILD}", path=str(path))
    if not _is(meta["count"], int) or not _is(meta["dim"], int):
        raise DataError(
            f"count and dim must be integers, got {shown(meta['count'])}, {shown(meta['dim'])}; {_REBUILD}",
            path=str(path),
        )
    if meta["similarity"] not in SIMILARITIES:
        raise DataError(f"{SIMILARITIES.unknown_message(meta['similarity'])} {_REBUILD}", path=str(path))


def _check_rows(embeddings: np.ndarray, ids: list[Any], meta: dict[str, Any], path: Path) -> None:
    expected = (meta["count"], meta["dim"])
    if embeddings.ndim != 2 or embeddings.shape != expected or len(ids) != meta["count"]:
        message = f"shape {embeddings.shape} and {len(ids)} ids do not match index.json (count, dim) = {expected}"
        raise DataError(f"{message}; {_REBUILD}", path=str(path))
    if meta["count"] == 0:
        raise DataError(f"the index is empty; {_REBUILD}", path=str(path))


def _read_npy(path: Path, mmap: bool) -> np.ndarray:
    _check_present(path)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"not a readable .npy array ({err}); {_REBUILD}", path=str(path)) from None
