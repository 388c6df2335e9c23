"""Rerank documents for a query with a cross-encoder: each (query, document) pair read together and scored.

``rerank(model, query, documents, top_n)`` is the Python API (``textsiam.rerank``); the service's ``/v1/rerank`` and
``textsiam search --rerank`` use :func:`relevance` and :func:`rerank_hits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from textsiam.errors import ConfigError, DataError


def check_reranker(model: Any, what: str = "the reranker") -> None:
    """A ConfigError unless ``model`` reads pairs together and gives one score per pair."""
    if getattr(model, "training_kind", None) != "pairs":
        raise ConfigError(
            f"{what} must be a cross model (e.g. one trained from minilm-cross): it reads the query and each document "
            "together. A twin model ranks by its embeddings: retrieve with it (search), then rerank with a cross model"
        )
    if model.classes:
        raise ConfigError(f"{what} has classes {model.classes}; reranking needs a model with one score per pair")


def relevance(model: Any, query: str, documents: Sequence[str], batch_size: int = 32) -> list[tuple[float, float]]:
    """``(probability, logit)`` of each document's relevance to ``query``, in the documents' order."""
    check_reranker(model)
    if not isinstance(query, str) or not query:
        raise DataError(f"query must be a non-empty string, got {query!r:.60}")
    documents = list(documents)
    if not documents:
        return []
    probs = model.pair_outputs([query] * len(documents), documents, batch_size)  # sigmoid of the logits, (n,)
    logits = torch.logit(probs.double().clamp(1e-12, 1 - 1e-12))  # the logit, for TEI's raw_scores
    return list(zip(probs.tolist(), logits.tolist()))


def order(scores: Sequence[float], top_n: int | None) -> list[int]:
    """Indices of the ``top_n`` best scores (all without it), best first; ties keep the input order."""
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise ConfigError(f"top_n must be a positive integer or None, got {top_n!r}")
    ranked = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable").tolist()
    return ranked[:top_n] if top_n is not None else ranked


def rerank(model: Any, query: str, documents: Sequence[str], top_n: int | None = None) -> list[dict[str, Any]]:
    """The documents ordered by the cross model's relevance to ``query``, best first: ``[{"index", "relevance_score",
    "document"}, ...]`` (``index`` into ``documents``; ``relevance_score`` in [0, 1]), the ``top_n`` best only if
    given."""
    if isinstance(model, str):
        from textsiam.models.io import create_model

        model = create_model(model)
    documents = [documents] if isinstance(documents, str) else list(documents)
    scores = [p for p, _ in relevance(model, query, documents)]
    return [{"index": i, "relevance_score": scores[i], "document": documents[i]} for i in order(scores, top_n)]


def rerank_hits(model: Any, query: str, hits: list[dict[str, Any]], texts: dict[Any, str]) -> list[dict[str, Any]]:
    """Retrieved ``hits`` (``{"id", "score"}``) reordered by the cross model; each keeps the retriever's score as
    ``retrieval_score`` and gets the cross model's as ``score``."""
    scores = [p for p, _ in relevance(model, query, [texts[h["id"]] for h in hits])]
    return [{**hits[i], "score": scores[i], "retrieval_score": hits[i]["score"]} for i in order(scores, None)]
