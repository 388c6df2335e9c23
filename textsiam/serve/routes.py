"""The endpoints: each checks its request against the limits (every text, before it joins a shared batch), asks the
service for the values and shapes the answer. Below them only the service (``service.py``); the app sits above."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from textsiam.index.truncate import dimensions_range, truncate
from textsiam.serve import schemas as s
from textsiam.serve.limits import ApiError, check_count, check_text, check_texts
from textsiam.serve.service import Service

router = APIRouter()


def _service(request: Request) -> Service:
    return request.app.state.service


def _pairs(body: s.PairsRequest, service: Service) -> tuple[list[str], list[str]]:
    """The pairs' left and right texts, each checked once against the limits."""
    check_count(len(body.pairs), "pairs", service.limits)
    for i, pair in enumerate(body.pairs):
        check_text(pair.a, f"pairs[{i}].a", service.limits)
        check_text(pair.b, f"pairs[{i}].b", service.limits)
    return [p.a for p in body.pairs], [p.b for p in body.pairs]


@router.post("/v1/similarity", response_model=s.SimilarityResponse, summary="similarity score of each pair")
async def similarity(body: s.PairsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    return JSONResponse({"scores": await service.scores(*_pairs(body, service))})


@router.post(
    "/v1/match",
    response_model=s.MatchResponse,
    summary="match / no match (and the calibrated probability) of each pair",
    responses={409: {"description": "the model has no tuned decision"}},
)
async def match(body: s.PairsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    decision = service.model.decision
    if decision is None:  # before the pairs: no pairs can succeed on a model without a decision
        raise ApiError(
            409,
            "this model has no decision (threshold): tune one with `textsiam tune-threshold --model DIR --data DEV` "
            "and serve that folder, or use /v1/similarity for raw scores",
        )
    results = await service.matches(*_pairs(body, service))
    return JSONResponse({"results": results, "threshold": decision.threshold})


@router.post("/v1/embed", response_model=s.EmbedResponse, summary="embeddings of texts with one tower")
async def embed(body: s.EmbedRequest, request: Request) -> JSONResponse:
    service = _service(request)
    check_texts(body.texts, "texts", service.limits)
    return JSONResponse({"embeddings": await service.embed(body.texts, body.side)})


@router.post("/v1/embeddings", response_model=s.EmbeddingsResponse, summary="OpenAI-compatible embeddings (left tower)")
async def embeddings(body: s.EmbeddingsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    texts = [body.input] if isinstance(body.input, str) else body.input
    full = service.model.embedding_dim
    if body.dimensions is not None and not 1 <= body.dimensions <= full:
        raise ApiError(422, f"dimensions={body.dimensions} is not available: {dimensions_range(full)}", "dimensions")
    if isinstance(body.input, str):  # one text: its field is `input` itself
        check_text(body.input, "input", service.limits)
    else:
        check_texts(texts, "input", service.limits)
    vectors, tokens = await service.embed_counted(texts)
    if body.dimensions is not None and body.dimensions != full:  # the first N coordinates, renormalised
        vectors = truncate(np.asarray(vectors, dtype=np.float32), body.dimensions).tolist()
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
    if service.index is None:
        raise ApiError(404, "no search index is loaded: start the service with `textsiam serve --index DIR`")
    check_texts(body.queries, "queries", service.limits)
    if body.k > service.limits.max_k:
        raise ApiError(413, f"k={body.k} is over the limit of {service.limits.max_k}", "k")
    return JSONResponse({"results": await service.search(body.queries, body.k)})


@router.get("/v1/model", summary="the served model: pair model, towers, decision, preset, index, limits")
async def model(request: Request) -> JSONResponse:
    return JSONResponse(_service(request).info())


@router.get("/healthz", summary="liveness, with batching counters")
async def healthz(request: Request) -> JSONResponse:
    return JSONResponse(_service(request).health())
