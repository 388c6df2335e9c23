"""The service below the HTTP layer: the model, its name, the limits, the optional search index and the batcher that
runs every request's texts on one worker thread. No FastAPI here: the routes check requests and shape the answers,
the app wires the routes, middlewares and error handlers around them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from textsiam.deploy.precision import dtype_of
from textsiam.index.search import top_k_hits
from textsiam.index.store import Index
from textsiam.models.base import PairModel
from textsiam.registry import PRESETS
from textsiam.serve.batcher import Batcher
from textsiam.serve.limits import Limits
from textsiam.serve.metrics import Metrics

INPUT_TYPES = {"query": "left", "document": "right"}
"""``input_type`` (and its alias ``prompt_name``) -> the tower: a pseudo-siamese model's left tower encodes queries,
its right tower documents; a twin has one tower for both."""
DEFAULT_INPUT_TYPE = "query"


class Service:
    """What the routes share and call: each method queues its (already checked) texts with the batcher and makes
    the answer's values from their embeddings on the worker thread. ``model`` is in eval mode and servable (the app
    checks it)."""

    def __init__(self, model: PairModel, name: str, limits: Limits, index: Index | None) -> None:
        self.model, self.name, self.limits, self.index = model, name, limits, index
        self.metrics = Metrics(lambda: self.batcher.pending, limits.max_pending)
        self.batcher = Batcher(model, limits, observe=self.metrics.batch)

    async def scores(self, a: list[str], b: list[str]) -> list[float]:
        """One score per pair ``(a[i], b[i])``, higher = more similar."""
        model = self.model
        if model.training_kind == "pairs":  # a cross-encoder reads each pair together: no embeddings to merge
            return await self.batcher.call(lambda: model.similarity_scores(a, b).tolist())

        def finish(u: torch.Tensor, v: torch.Tensor) -> list[float]:
            return model.score(u.to(model.device), v.to(model.device)).float().cpu().tolist()

        return await self.batcher.submit(a, b, finish)

    async def matches(self, a: list[str], b: list[str]) -> list[dict[str, Any]]:
        """Match / no match, score and calibrated probability (None without a calibrator) of each pair, by the
        model's decision (the caller checks that it has one)."""
        decision = self.model.decision
        scores = np.asarray(await self.scores(a, b), dtype=np.float64)
        matches = decision.predict(scores).tolist()
        probs = decision.predict_proba(scores).tolist() if decision.calibrator is not None else [None] * len(scores)
        return [{"match": m, "score": sc, "probability": p} for m, sc, p in zip(matches, scores.tolist(), probs)]

    async def rerank(self, query: str, documents: list[str]) -> list[tuple[float, float]]:
        """``(probability, logit)`` of each document's relevance to ``query``, by a cross model."""
        from textsiam.models.rerank import relevance

        return await self.batcher.call(lambda: relevance(self.model, query, documents))

    async def embed(self, texts: list[str], side: str) -> list[list[float]]:
        left, right = (texts, []) if side == "left" else ([], texts)
        return await self.batcher.submit(left, right, lambda u, v: (u if len(u) else v).tolist())

    async def embed_counted(self, texts: list[str], side: str = "left") -> tuple[list[list[float]], int]:
        """Embeddings by the ``side`` tower and the tokens of all the texts, counted by the batch that encoded
        them."""
        left, right = (texts, []) if side == "left" else ([], texts)
        return await self.batcher.submit(left, right, lambda u, v: (u if len(u) else v).tolist(), count_tokens=True)

    async def search(self, queries: list[str], k: int) -> list[list[dict[str, Any]]]:
        """The ``k`` best items of the index for each query (the caller checks that there is an index)."""
        index = self.index
        left, right = (queries, []) if index.query_side == "left" else ([], queries)
        return await self.batcher.submit(
            left, right, lambda u, v: top_k_hits(index, (u if len(u) else v).float().cpu().numpy(), k)
        )

    def info(self) -> dict[str, Any]:
        """The served model: pair model, towers, precision, decision, preset, index, limits."""
        model, config = self.model, self.model.get_config()
        decision, index = model.decision, self.index
        return {
            "model": self.name,
            "preset": self.name if self.name in PRESETS else None,
            "pair_model": config["pair_model"],
            "towers": {side: config.get(side, config.get("encoder")) for side in ("left", "right")},
            "shared_tower": model.left is model.right,
            "input_types": {
                "towers": INPUT_TYPES,
                "default": DEFAULT_INPUT_TYPE,
                "note": "one tower: input_type is accepted and changes nothing"
                if model.left is model.right
                else "input_type (or prompt_name) picks the tower of /v1/embeddings and /v1/embed",
            },
            "embedding_dim": model.embedding_dim,
            "dtype": dtype_of(model),  # what the towers compute in: fp32, bf16, fp16 or int8 (--dtype, --quantize)
            "score": model.score_name,
            "decision": None
            if decision is None
            else {
                "threshold": decision.threshold,
                "strategy": decision.strategy,
                "target": decision.target,
                "calibrated": decision.calibrator is not None,
            },
            "index": None if index is None else {**index.meta, "query_side": index.query_side},
            "limits": vars(self.limits),
        }

    def health(self) -> dict[str, Any]:
        """Liveness, with the batching counters."""
        batcher = self.batcher
        return {
            "status": "ok",
            "batches": batcher.batches,
            "requests": batcher.jobs,
            "pending": batcher.pending,
            "retried_batches": batcher.retried,
        }
