"""Build an index from a corpus and search it: the library side of ``textsiam search`` and ``textsiam.search``.

Queries go through the model's left tower and the corpus through its right tower (the same module for a twin, two
different towers for a pseudo-siamese model); a folder of images as the corpus goes through the image tower and the
queries through the other one. Results rank the corpus by the model's similarity, best first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.atomic import atomic_write
from textsiam.data.texts import read_texts
from textsiam.encoders import checks
from textsiam.errors import ConfigError, DataError, shown
from textsiam.index.arrays import write_npy_stream
from textsiam.index.encode import DEFAULT_CHUNK, embed_chunks
from textsiam.index.exact import exact_top_k
from textsiam.index.store import Index, ids_are_valid, load_index, write_meta
from textsiam.models.base import PairModel

INDEX_TYPES = ("exact", "faiss")


def check_searchable(model: PairModel) -> str:
    """The model's similarity name, or a ConfigError for a model that scores pairs with a learned head."""
    if model.embedding_dim is None:  # a cross-encoder
        from textsiam.models.cross import NO_EMBEDDINGS

        raise ConfigError(NO_EMBEDDINGS)
    if model.head is not None:
        raise ConfigError(
            f"this model scores a pair with a learned head ({model.score_name}) over both embeddings, not with a "
            "similarity between them: there is no vector space to search, and exact search would have to run the "
            "head on every (query, corpus) pair. Search with a model that compares embeddings (cosine, dot, "
            "euclidean, manhattan), or score a short candidate list with `textsiam score`"
        )
    return model.similarity_name


def build_index(
    model: PairModel,
    corpus: str | os.PathLike | Sequence[str],
    folder: str | os.PathLike | None = None,
    *,
    model_name: str = "",
    batch_size: int = 64,
    column: str | None = None,
    id_column: str | None = None,
    format: str | None = None,
    show_progress: bool = False,
) -> Index:
    """Encode ``corpus`` (a file, streamed, or a list of texts) with the right tower, or a folder of images with the
    model's image tower (ids: the file names; queries then go through the other tower); saved to ``folder`` if given."""
    similarity = check_searchable(model)
    side, ids = "right", None
    if isinstance(corpus, str | os.PathLike) and Path(corpus).is_dir():  # a gallery of images
        from textsiam.imaging import image_files

        side = image_side(model, corpus)
        corpus = image_files(Path(corpus), "--corpus")
        ids = [Path(f).name for f in corpus]
    if not isinstance(corpus, str | os.PathLike):
        items = checks.item_list(corpus, "corpus")  # a dict is refused, not indexed by its keys
        emb = model.encode(items, side=side, batch_size=batch_size, show_progress=show_progress).numpy()
        emb = _nonempty(emb, "corpus")
        index = Index(emb, ids or list(range(len(emb))), model_name, similarity, side=side)
        if folder is not None:
            from textsiam.index.store import save_index

            save_index(index, folder)
        return index
    read = {"column": column, "format": format}
    ids = _read_ids(corpus, id_column, read) if id_column else None
    chunks = embed_chunks(model, corpus, side="right", batch_size=batch_size, chunk_size=DEFAULT_CHUNK, **read)
    if folder is None:
        parts = list(chunks)
        emb = np.concatenate(parts) if parts else np.empty((0, model.embedding_dim), np.float32)
        return Index(_nonempty(emb, corpus), ids if ids is not None else list(range(len(emb))), model_name, similarity)
    folder = Path(folder)
    rows: list[int] = []
    atomic_write(folder / "embeddings.npy", lambda tmp: rows.append(write_npy_stream(tmp, chunks, model.embedding_dim)))
    ids = ids if ids is not None else list(range(rows[0]))
    if rows[0] == 0:
        raise DataError("the corpus holds no texts; an index needs at least one", path=str(corpus))
    meta = {"model": model_name, "side": "right", "similarity": similarity, "count": rows[0]}
    write_meta(folder, {**meta, "dim": model.embedding_dim}, ids)
    return load_index(folder)


def image_side(model: PairModel, folder: Any) -> str:
    """The side whose tower reads images (the left one when both do), or a ConfigError naming the folder."""
    for side in ("left", "right"):
        if model.tower(side).modality == "image":
            return side
    raise ConfigError(f"--corpus {folder} is a folder of images, but neither tower of this model reads images")


def _read_ids(corpus: str | os.PathLike, id_column: str, read: dict[str, Any]) -> list[Any]:
    """The id column's values, checked before encoding: an index's ids are all strings or all integers."""
    ids = read_texts(corpus, id_column=id_column, **read)[1]
    if not ids_are_valid(ids):
        kinds = sorted({type(v).__name__ for v in ids})
        raise DataError(
            f"an index's ids must be all strings or all integers, this id column holds {', '.join(kinds)}; "
            "pick an id column of one kind",
            path=str(corpus),
            column=id_column,
        )
    return ids


def _nonempty(emb: np.ndarray, corpus: Any) -> np.ndarray:
    if len(emb) == 0:
        raise DataError("the corpus holds no texts; an index needs at least one", path=str(corpus))
    return emb


def search(
    model: PairModel,
    queries: Sequence[str],
    corpus: Index | str | os.PathLike | Sequence[str],
    top_k: int = 10,
    *,
    batch_size: int = 64,
    show_progress: bool = False,
) -> list[list[dict[str, Any]]]:
    """The ``top_k`` corpus entries for each query, best first: ``[[{"id": ..., "score": ...}, ...], ...]``.

    ``corpus`` is an :class:`Index` (``load_index(folder)``), an index folder, a corpus file, or a list of texts.
    ``queries`` is a list of texts (an array or Series too); a bare string is refused, not searched character by
    character.
    """
    if isinstance(queries, str | bytes):
        raise DataError(
            f"queries is a single {type(queries).__name__} {shown(queries)}, not a list of queries; pass a list, "
            f"e.g. textsiam.search(model, [{shown(queries, 30)}], corpus), and read the first result list"
        )
    queries = checks.item_list(queries, "query")
    check_top_k(top_k)
    index = _as_index(model, corpus, batch_size)
    check_searchable(model)
    if index.similarity != model.similarity_name:
        raise ConfigError(
            f"the index ranks by {index.similarity!r} but the model compares by {model.similarity_name!r}; "
            "rebuild the index with this model"
        )
    q = model.encode(queries, side=index.query_side, batch_size=batch_size, show_progress=show_progress).numpy()
    if q.shape[1] != index.embeddings.shape[1]:
        raise ConfigError(f"the model embeds in {q.shape[1]} dimensions, the index holds {index.embeddings.shape[1]}")
    return top_k_hits(index, q, top_k)


def check_top_k(top_k: Any) -> int:
    """``top_k`` if it is an integer >= 1 (a bool or a float is not), else a ConfigError naming it."""
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise ConfigError(f"top_k (--top-k) must be an integer >= 1, got {shown(top_k)}; ask for 1 or more results")
    return int(top_k)


def search_embeddings(index: Index, queries: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, positions)`` of the top_k rows for each query embedding: exact, or the faiss index if loaded."""
    if index.ann is not None:
        from textsiam.index.ann import faiss_search

        return faiss_search(index.ann, index.similarity, queries, top_k)
    return exact_top_k(queries, index.embeddings, index.similarity, top_k)


def top_k_hits(index: Index, queries: np.ndarray, top_k: int) -> list[list[dict[str, Any]]]:
    """The ``top_k`` ``{"id", "score"}`` hits of each query embedding, best first (exact, or faiss if loaded)."""
    return hits(index, *search_embeddings(index, queries, top_k))


def hits(index: Index, scores: np.ndarray, positions: np.ndarray) -> list[list[dict[str, Any]]]:
    ids = index.ids
    return [
        [{"id": ids[p], "score": float(s)} for s, p in zip(row_s, row_p) if p >= 0]
        for row_s, row_p in zip(scores.tolist(), positions.tolist())
    ]


def _as_index(model: PairModel, corpus: Any, batch_size: int) -> Index:
    if isinstance(corpus, Index):
        return corpus
    if isinstance(corpus, str | os.PathLike) and Path(corpus).is_dir():
        reads_images = "image" in (model.tower("left").modality, model.tower("right").modality)
        if (Path(corpus) / "index.json").is_file() or not reads_images:
            return load_index(corpus)  # a saved index; a folder of images for a model with an image tower is encoded
    return build_index(model, corpus, batch_size=batch_size)
