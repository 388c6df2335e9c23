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
from textsiam.deploy.quantize import load_for_inference
from textsiam.errors import ConfigError
from textsiam.index.search import build_index, top_k_hits
from textsiam.index.store import Index, load_index, write_meta
from textsiam.models.base import PairModel


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
    dtype: str = "fp32",
    compile: bool = False,
    show_progress: bool = False,
    rerank: str | None = None,
    rerank_top: int = 20,
) -> int:
    """Search ``corpus`` (or the saved index in ``index_dir``) for every query; returns the number of queries.

    ``rerank``: a cross model that reorders each query's ``rerank_top`` best hits (then the ``top_k`` best are
    written, each with the cross model's ``score`` and the retriever's ``retrieval_score``); needs ``corpus``.
    ``quantize`` / ``dtype`` / ``compile``: the retriever's precision
    (:func:`~textsiam.deploy.quantize.load_for_inference`)."""
    if corpus is None and index_dir is None:
        raise ConfigError("say what to search: --corpus FILE (encoded now), or --index DIR (a saved index)")
    if top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {top_k}")
    reranker = _reranker(rerank, rerank_top, corpus, column, id_column)
    model = load_for_inference(model_name, quantize, dtype, compile=compile)
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
    write = lambda tmp: _write_results(tmp, model, index, queries, column, top_k, batch_size, reranker)  # noqa: E731
    atomic_write(output, lambda tmp: rows.append(write(tmp)))
    return rows[0]


def _reranker(name: str | None, top: int, corpus: Any, column: str | None, id_column: str | None):
    """``(cross model, how many hits it reorders, corpus id -> text)``, or None without ``--rerank``."""
    if name is None:
        return None
    from textsiam.models.rerank import check_reranker

    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ConfigError(f"--rerank-top must be >= 1, got {top!r}")
    if corpus is None:
        raise ConfigError("--rerank needs --corpus FILE: the cross model reads the texts, and an index holds only ids")
    model = load_for_inference(name, None)
    check_reranker(model, f"--rerank {name}")
    texts = {
        i: t for chunk, ids in iter_text_chunks(corpus, column=column, id_column=id_column) for t, i in zip(chunk, ids)
    }
    return model, top, texts


def _write_results(
    tmp: str, model: PairModel, index: Index, queries: Any, column: str | None, top_k: int, batch_size: int, reranker
) -> int:
    from textsiam.models.rerank import rerank_hits

    n = 0
    retrieve = max(top_k, reranker[1]) if reranker else top_k
    with open(tmp, "w", encoding="utf-8") as f:
        for texts, ids in iter_text_chunks(queries, column=column):
            q = model.encode(texts, side=index.query_side, batch_size=batch_size).numpy()
            for qid, text, found in zip(ids, texts, top_k_hits(index, q, retrieve)):
                if reranker:
                    cross, top, corpus_texts = reranker
                    found = (rerank_hits(cross, text, found[:top], corpus_texts) + found[top:])[:top_k]
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
