"""A search index folder (written by ``textsiam search``, textsiam/index/store.py) checked strictly for serving, and
exact top-k over it with the search command's own chunked search (textsiam/index/exact.py).

The folder holds ``index.json`` (``{"model", "side", "similarity", "count", "dim"}``), ``embeddings.npy``
(float32, ``(count, dim)``, read without pickle) and ``ids.json`` (a list of ``count`` strings, or of integers:
the row numbers `textsiam search` writes by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from textsiam.errors import ConfigError, DataError
from textsiam.index.exact import exact_top_k
from textsiam.layers.similarity import Similarity, build_similarity


@dataclass
class SearchIndex:
    """Embeddings of ``count`` items encoded with one tower (``side``), their ids, and the similarity to rank by."""

    embeddings: torch.Tensor  # (count, dim)
    ids: list[str] | list[int]
    side: str
    similarity: Similarity
    meta: dict

    @property
    def query_side(self) -> str:
        """Queries go through the other tower: an index of right-side items is searched with left-side queries."""
        return "left" if self.side == "right" else "right"

    def top_k(self, queries: torch.Tensor, k: int) -> list[list[dict]]:
        """Exact top-``k`` items per query ``(n, dim)``: ``[[{"id", "score"}, ...], ...]``, best first. The same chunked
        search as ``textsiam search`` (no queries x corpus matrix)."""
        scores, positions = exact_top_k(queries.float(), self.embeddings, self.meta["similarity"], k)
        return [
            [{"id": self.ids[j], "score": float(v)} for v, j in zip(row_v, row_i)]
            for row_v, row_i in zip(scores.tolist(), positions.tolist())
        ]


def _all(values: list, kind: type) -> bool:
    return all(isinstance(v, kind) and not isinstance(v, bool) for v in values)


def _read_json(path: Path) -> object:
    if not path.exists():
        raise DataError("missing; an index folder needs index.json, embeddings.npy and ids.json", path=str(path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"not valid JSON ({err})", path=str(path)) from None


def load_index(folder: str | Path) -> SearchIndex:
    """Read and check an index folder; every inconsistency is a DataError naming the file."""
    folder = Path(folder)
    meta = _read_json(folder / "index.json")
    if not isinstance(meta, dict) or not {"side", "similarity", "count", "dim"} <= set(meta):
        raise DataError("must be an object with side, similarity, count and dim", path=str(folder / "index.json"))
    if meta["side"] not in ("left", "right"):
        raise DataError(f"side must be 'left' or 'right', got {meta['side']!r}", path=str(folder / "index.json"))
    ids = _read_json(folder / "ids.json")
    if not isinstance(ids, list) or not (_all(ids, str) or _all(ids, int)):
        raise DataError("must be a JSON list of strings or a list of integers", path=str(folder / "ids.json"))
    path = folder / "embeddings.npy"
    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"not a readable .npy array ({err})", path=str(path)) from None
    expected = (meta["count"], meta["dim"])
    if matrix.ndim != 2 or matrix.shape != expected or len(ids) != meta["count"]:
        raise DataError(
            f"shape {matrix.shape} and {len(ids)} ids do not match index.json (count, dim) = {expected}", path=str(path)
        )
    if meta["count"] == 0:
        raise DataError("the index is empty", path=str(path))
    try:
        similarity = build_similarity(meta["similarity"])
    except KeyError as err:
        raise ConfigError(f"{folder / 'index.json'}: {err.args[0]}") from None
    tensor = torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.float32))
    return SearchIndex(tensor, ids, meta["side"], similarity, meta)
