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
from textsiam.errors import ConfigError, DataError

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
    """Read an index folder; the embeddings are memory-mapped unless ``mmap=False``."""
    folder = Path(folder)
    if not is_index(folder):
        missing = [n for n in INDEX_FILES if not (folder / n).is_file()]
        raise ConfigError(f"{folder} is not a textsiam index (missing {missing}); build one with --corpus FILE")
    meta = json.loads((folder / "index.json").read_text())
    ids = json.loads((folder / "ids.json").read_text())
    embeddings = np.load(folder / "embeddings.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    if embeddings.ndim != 2 or embeddings.shape != (meta.get("count"), meta.get("dim")) or len(ids) != len(embeddings):
        raise DataError(
            f"embeddings.npy has shape {embeddings.shape}, ids.json {len(ids)} ids and index.json says "
            f"count={meta.get('count')}, dim={meta.get('dim')}; rebuild the index",
            path=str(folder),
        )
    core = {k: meta[k] for k in ("model", "similarity", "side")}
    extra = {k: v for k, v in meta.items() if k not in (*core, "count", "dim")}
    return Index(embeddings, ids, **core, extra=extra)
