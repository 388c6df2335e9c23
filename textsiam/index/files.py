"""``textsiam search`` end to end: model, index (built from a corpus file or reused), queries streamed in chunks,
results written atomically as JSON lines."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from textsiam.atomic import atomic_write
from textsiam.data.texts import iter_text_chunks
from textsiam.errors import ConfigError
from textsiam.index.search import build_index, top_k_hits
from textsiam.index.store import Index, load_index, write_meta
from textsiam.models.base import PairModel
from textsiam.models.quantize import load_for_inference


def search_files(
    *,
    model_name: str,
    queries: str | os.PathLike,
    output: str | os.PathLike,
    corpus: str | os.PathLike | None = None,
    index_dir: str | os.PathLike | None = None,
    top_k: int = 10,
    column: str | None = None,
    id_column: str | None = None,
    index_type: str = "exact",
    ann_kind: str = "hnsw",
    batch_size: int = 64,
    quantize: str | None = None,
    show_progress: bool = False,
) -> int:
    """Search ``corpus`` (or the saved index in ``index_dir``) for every query; returns the number of queries."""
    if corpus is None and index_dir is None:
        raise ConfigError("say what to search: --corpus FILE (encoded now), or --index DIR (a saved index)")
    if top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    model = load_for_inference(model_name, quantize)
    if corpus is not None:
        index = build_index(
            model, corpus, index_dir, model_name=model_name, batch_size=batch_size, column=column,
            id_column=id_column, show_progress=show_progress,
        )  # fmt: skip
    else:
        index = load_index(index_dir)
        _check_reuse(index, model, model_name, index_dir)
    if index_type == "faiss":
        _attach_faiss(index, index_dir, ann_kind)
    rows: list[int] = []
    atomic_write(output, lambda tmp: rows.append(_write_results(tmp, model, index, queries, column, top_k, batch_size)))
    return rows[0]


def _write_results(
    tmp: str, model: PairModel, index: Index, queries: Any, column: str | None, top_k: int, batch_size: int
) -> int:
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for texts, ids in iter_text_chunks(queries, column=column):
            q = model.encode(texts, side=index.query_side, batch_size=batch_size).numpy()
            for qid, text, found in zip(ids, texts, top_k_hits(index, q, top_k)):
                f.write(json.dumps({"query_id": qid, "query": text, "results": found}, ensure_ascii=False) + "\n")
            n += len(texts)
    return n


def _check_reuse(index: Index, model: PairModel, model_name: str, folder: Any) -> None:
    if index.similarity != model.similarity_name or index.embeddings.shape[1] != model.embedding_dim:
        raise ConfigError(
            f"{folder} was built by {index.model!r} ({index.similarity}, dim {index.embeddings.shape[1]}); "
            f"{model_name!r} compares by {model.similarity_name} in dim {model.embedding_dim}. Rebuild it: "
            f"--corpus FILE --index {folder}"
        )
    if index.model != model_name:
        print(f"warning: {folder} was built with model {index.model!r}, searching with {model_name!r}", file=sys.stderr)


def _attach_faiss(index: Index, folder: Any, kind: str) -> None:
    """Load the folder's faiss index if it is of this kind, else build it (and save it with the index)."""
    from textsiam.index.ann import ANN_FILE, build_faiss, load_faiss, save_faiss

    saved = index.extra.get("ann", {})
    if folder is not None and saved.get("kind") == kind and (Path(folder) / ANN_FILE).is_file():
        index.ann = load_faiss(folder)
        return
    index.ann = build_faiss(index.embeddings, index.similarity, kind)
    if folder is not None:
        save_faiss(index.ann, folder)
        index.extra["ann"] = {"kind": kind}
        write_meta(Path(folder), {**index.meta, **index.extra}, list(index.ids))
