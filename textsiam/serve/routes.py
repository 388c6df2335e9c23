"""The endpoints: each checks its request against the limits (every text, before it joins a shared batch), asks the
service for the values and shapes the answer. Below them only the service (``service.py``); the app sits above."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from textsiam.index.truncate import dimensions_range, truncate
from textsiam.serve import schemas as s
from textsiam.serve.limits import ApiError, check_count, check_text, check_texts
from textsiam.serve.metrics import CONTENT_TYPE
from textsiam.serve.service import DEFAULT_INPUT_TYPE, INPUT_TYPES, Service

router = APIRouter()


def _service(request: Request) -> Service:
    return request.app.state.service


def _items(request: Request, n: int) -> None:
    """How many pairs / texts / queries the request holds, for its access log line and the items metric."""
    request.state.items = n


def _side(body: s.EmbedRequest | s.EmbeddingsRequest) -> str:
    """The tower of an embedding request: ``side``, ``input_type`` or ``prompt_name`` (which must agree), else the
    default input type's."""
    chosen = {
        field: value if field == "side" else INPUT_TYPES[value]
        for field in ("side", "input_type", "prompt_name")
        if (value := getattr(body, field, None)) is not None
    }
    if len(set(chosen.values())) > 1:
        given = ", ".join(f"{field}={getattr(body, field)!r}" for field in chosen)
        raise ApiError(
            422, f"{given} ask for different towers (query = left, document = right); send one of them", "input_type"
        )
    return next(iter(chosen.values()), INPUT_TYPES[DEFAULT_INPUT_TYPE])


def _needs_embeddings(service: Service) -> None:
    if service.model.embedding_dim is None:  # a cross-encoder, a two-stage model: its encode says why it has none
        from textsiam.models.cross import NO_EMBEDDINGS, NoEmbeddingsError

        try:
            service.model.encode([])
        except NoEmbeddingsError as err:
            raise ApiError(400, str(err)) from None
        raise ApiError(400, NO_EMBEDDINGS)


def _pairs(body: s.PairsRequest, service: Service, request: Request) -> tuple[list[str], list[str]]:
    """The pairs' left and right texts, each checked once against the limits."""
    check_count(len(body.pairs), "pairs", service.limits)
    _items(request, len(body.pairs))
    for i, pair in enumerate(body.pairs):
        check_text(pair.a, f"pairs[{i}].a", service.limits)
        check_text(pair.b, f"pairs[{i}].b", service.limits)
    return [p.a for p in body.pairs], [p.b for p in body.pairs]


@router.post("/v1/similarity", response_model=s.SimilarityResponse, summary="similarity score of each pair")
async def similarity(body: s.PairsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    return JSONResponse({"scores": await service.scores(*_pairs(body, service, request))})


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
    results = await service.matches(*_pairs(body, service, request))
    return JSONResponse({"results": results, "threshold": decision.threshold})


@router.post("/v1/embed", response_model=s.EmbedResponse, summary="embeddings of texts with one tower")
async def embed(body: s.EmbedRequest, request: Request) -> JSONResponse:
    service = _service(request)
    _needs_embeddings(service)
    check_texts(body.texts, "texts", service.limits)
    _items(request, len(body.texts))
    return JSONResponse({"embeddings": await service.embed(body.texts, _side(body))})


@router.post(
    "/v1/embeddings",
    response_model=s.EmbeddingsResponse,
    summary="OpenAI-compatible embeddings (input_type picks the tower)",
)
async def embeddings(body: s.EmbeddingsRequest, request: Request) -> JSONResponse:
    service = _service(request)
    _needs_embeddings(service)
    texts = [body.input] if isinstance(body.input, str) else body.input
    full = service.model.embedding_dim
    if body.dimensions is not None and not 1 <= body.dimensions <= full:
        raise ApiError(422, f"dimensions={body.dimensions} is not available: {dimensions_range(full)}", "dimensions")
    if isinstance(body.input, str):  # one text: its field is `input` itself
        check_text(body.input, "input", service.limits)
    else:
        check_texts(texts, "input", service.limits)
    _items(request, len(texts))
    vectors, tokens = await service.embed_counted(texts, _side(body))
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
    _items(request, len(body.queries))
    if body.k > service.limits.max_k:
        raise ApiError(413, f"k={body.k} is over the limit of {service.limits.max_k}", "k")
    return JSONResponse({"results": await service.search(body.queries, body.k)})


@router.get("/v1/model", summary="the served model: pair model, towers, precision, decision, preset, index, limits")
async def model(request: Request) -> JSONResponse:
    return JSONResponse(_service(request).info())


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format): requests, errors, latency, batches, queue depth, items",
    response_class=Response,
)
async def metrics(request: Request) -> Response:
    return Response(_service(request).metrics.render(), media_type=CONTENT_TYPE)


@router.get("/healthz", summary="liveness, with batching counters")
async def healthz(request: Request) -> JSONResponse:
    return JSONResponse(_service(request).health())


def _documents(body: s.RerankRequest, service: Service) -> list[str]:
    """The documents' texts (Cohere's ``{"text": ...}`` objects unwrapped), each checked against the limits."""
    if (body.documents is None) == (body.texts is None):
        raise ApiError(422, "give the texts to rank as `documents` (or TEI's `texts`), one of the two", "documents")
    field = "documents" if body.documents is not None else "texts"
    docs = []
    for i, doc in enumerate(body.documents if body.documents is not None else body.texts):
        if isinstance(doc, dict) and set(doc) != {"text"}:
            raise ApiError(422, f"{field}[{i}] must be a string or {{'text': STRING}}, got keys {sorted(doc)}", field)
        docs.append(doc["text"] if isinstance(doc, dict) else doc)
    check_texts(docs, field, service.limits)
    return docs


@router.post("/v1/rerank", response_model=s.RerankResponse, summary="documents ordered by relevance to a query")
@router.post("/rerank", include_in_schema=False)  # TEI's and infinity's path
async def rerank(body: s.RerankRequest, request: Request) -> JSONResponse:
    from textsiam.models.rerank import order

    service = _service(request)
    if service.model.training_kind != "pairs":
        raise ApiError(400, "this model cannot rerank: /v1/rerank needs a cross model (serve one, e.g. minilm-cross)")
    if service.model.classes:  # a stance model, a two-stage model: one score per class, not one relevance
        raise ApiError(
            400,
            f"this model cannot rerank: it has classes {service.model.classes}; /v1/rerank needs a cross model with "
            "one score per pair (e.g. minilm-cross)",
        )
    check_text(body.query, "query", service.limits)
    docs = _documents(body, service)
    _items(request, len(docs))
    scored = await service.rerank(body.query, docs)
    ranked = order([p for p, _ in scored], body.top_n)
    if body.texts is not None:  # TEI's answer: a bare list of {index, score, text}
        return JSONResponse(
            [
                {"index": i, "score": scored[i][1 if body.raw_scores else 0]}
                | ({"text": docs[i]} if body.return_text else {})
                for i in ranked
            ]
        )
    results = [
        {"index": i, "relevance_score": scored[i][0]}
        | ({"document": {"text": docs[i]}} if body.return_documents else {})
        for i in ranked
    ]
    return JSONResponse({"results": results, "model": service.name})
