"""The endpoints: each checks its request against the limits (every text, before it joins a shared batch), queues
its texts with the batcher, shapes the answer."""

from __future__ import annotations

import base64

import numpy as np
import torch
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from textsiam.index.search import top_k_hits
from textsiam.serve import schemas as s
from textsiam.serve.app import Service, model_info
from textsiam.serve.limits import ApiError, check_count, check_text, check_texts

router = APIRouter()


def _service(request: Request) -> Service:
    return request.app.state.service


def _check_pairs(body: s.PairsRequest, service: Service) -> None:
    check_count(len(body.pairs), "pairs", service.limits)
    for i, pair in enumerate(body.pairs):
        check_text(pair.a, f"pairs[{i}].a", service.limits)
        check_text(pair.b, f"pairs[{i}].b", service.limits)


async def _scores(body: s.PairsRequest, service: Service) -> list[float]:
    """The scores of pairs the route has checked (``_check_pairs``)."""
    model = service.model

    def finish(u: torch.Tensor, v: torch.Tensor) -> list[float]:
        return model.score(u.to(model.device), v.to(model.device)).float().cpu().tolist()

    return await service.batcher.submit([p.a for p in body.pairs], [p.b for p in body.pairs], finish)


def _embeddings(u: torch.Tensor, v: torch.Tensor) -> list[list[float]]:
    return (u if len(u) else v).tolist()


async def _embed(service: Service, texts: list[str], side: str, field: str) -> list[list[float]]:
    check_texts(texts, field, service.limits)
    left, right = (texts, []) if side == "left" else ([], texts)
    return await service.batcher.submit(left, right, _embeddings)


@router.post("/v1/similarity", response_model=s.SimilarityResponse, summary="similarity score of each pair")
async def similarity(body: s.PairsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    _check_pairs(body, service)
    return JSONResponse({"scores": await _scores(body, service)})


@router.post(
    "/v1/match",
    response_model=s.MatchResponse,
    summary="match / no match (and the calibrated probability) of each pair",
    responses={409: {"description": "the model has no tuned decision"}},
)
async def match(body: s.PairsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    decision = service.model.decision
    if decision is None:
        raise ApiError(
            409,
            "this model has no decision (threshold): tune one with `textsiam tune-threshold --model DIR --data DEV` "
            "and serve that folder, or use /v1/similarity for raw scores",
        )
    _check_pairs(body, service)  # once, after the 409: no pairs can succeed on a model without a decision
    scores = np.asarray(await _scores(body, service), dtype=np.float64)
    matches = decision.predict(scores).tolist()
    probs = decision.predict_proba(scores).tolist() if decision.calibrator is not None else [None] * len(scores)
    results = [{"match": m, "score": sc, "probability": p} for m, sc, p in zip(matches, scores.tolist(), probs)]
    return JSONResponse({"results": results, "threshold": decision.threshold})


@router.post("/v1/embed", response_model=s.EmbedResponse, summary="embeddings of texts with one tower")
async def embed(body: s.EmbedRequest, request: Request) -> JSONResponse:
    return JSONResponse({"embeddings": await _embed(_service(request), body.texts, body.side, "texts")})


@router.post("/v1/embeddings", response_model=s.EmbeddingsResponse, summary="OpenAI-compatible embeddings (left tower)")
async def embeddings(body: s.EmbeddingsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    texts = [body.input] if isinstance(body.input, str) else body.input
    if body.dimensions is not None and body.dimensions != service.model.embedding_dim:
        raise ApiError(
            422,
            f"dimensions={body.dimensions} is not available: this model makes {service.model.embedding_dim}-dim "
            "vectors; leave dimensions out",
            "dimensions",
        )
    if isinstance(body.input, str):  # one text: its field is `input` itself
        check_text(body.input, "input", service.limits)
    else:
        check_texts(texts, "input", service.limits)
    vectors, tokens = await service.batcher.submit(texts, [], lambda u, v: u.tolist(), count_tokens=True)
    if body.encoding_format == "base64":
        vectors = [base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii") for v in vectors]
    return JSONResponse(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": service.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


@router.post(
    "/v1/search",
    response_model=s.SearchResponse,
    summary="exact top-k items of the index for each query",
    responses={404: {"description": "the service was started without --index"}},
)
async def search(body: s.SearchRequest, request: Request) -> JSONResponse:
    service = _service(request)
    index = service.index
    if index is None:
        raise ApiError(404, "no search index is loaded: start the service with `textsiam serve --index DIR`")
    check_texts(body.queries, "queries", service.limits)
    if body.k > service.limits.max_k:
        raise ApiError(413, f"k={body.k} is over the limit of {service.limits.max_k}", "k")
    left, right = (body.queries, []) if index.query_side == "left" else ([], body.queries)
    results = await service.batcher.submit(
        left, right, lambda u, v: top_k_hits(index, (u if len(u) else v).float().cpu().numpy(), body.k)
    )
    return JSONResponse({"results": results})


@router.get("/v1/model", summary="the served model: pair model, towers, decision, preset, index, limits")
async def model(request: Request) -> JSONResponse:
    return JSONResponse(model_info(_service(request)))


@router.get("/healthz", summary="liveness, with batching counters")
async def healthz(request: Request) -> JSONResponse:
    batcher = _service(request).batcher
    return JSONResponse(
        {
            "status": "ok",
            "batches": batcher.batches,
            "requests": batcher.jobs,
            "pending": batcher.pending,
            "retried_batches": batcher.retried,
        }
    )
