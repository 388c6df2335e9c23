"""The FastAPI app: the routes (``routes.py``: similarity, match, embeddings native and OpenAI-shaped, search, model
info, health) over the service (``service.py``), behind the body checks and the JSON error handlers. Imports point
one way: app -> routes -> service."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from textsiam.errors import ConfigError, DataError
from textsiam.index.store import Index
from textsiam.models.base import PairModel
from textsiam.models.cross import NO_EMBEDDINGS
from textsiam.serve.access import AccessLog
from textsiam.serve.auth import OPEN_PATHS, BearerAuth, check_api_key
from textsiam.serve.body import BodyGuard
from textsiam.serve.http_errors import FaultGuard, install_error_handlers
from textsiam.serve.limits import Limits
from textsiam.serve.routes import router
from textsiam.serve.service import Service
from textsiam.version import __version__


def check_servable(model: PairModel, index: Index | None) -> None:
    """Text towers only; an index must match the model's embedding size and be searchable by a similarity."""
    for side in ("left", "right"):
        try:
            model.tower(side).check_items(["a text"])
        except DataError as err:
            message = f"textsiam serve takes text models; this model's {side} tower refuses text ({err})"
            raise ConfigError(message) from None
    if index is None:
        return
    if model.embedding_dim is None:  # a cross-encoder
        raise ConfigError(f"--index: {NO_EMBEDDINGS}")
    if index.embeddings.shape[1] != model.embedding_dim:
        raise ConfigError(
            f"the index holds {index.embeddings.shape[1]}-dim vectors but the model makes {model.embedding_dim}-dim "
            "ones: build the index with the same model (`textsiam encode`)"
        )
    if model.head is not None:
        raise ConfigError("this model scores pairs with a learned head, which cannot rank an index; serve without it")


def create_app(
    model: PairModel,
    *,
    name: str = "textsiam-model",
    limits: Limits | None = None,
    index: Index | None = None,
    api_key: str | None = None,
    open_metrics: bool = False,
) -> FastAPI:
    """The ASGI app serving ``model``. Run it with uvicorn, or use ``fastapi.testclient.TestClient(app)``.
    ``api_key``: every path but ``/healthz`` (and ``/metrics`` with ``open_metrics``) needs ``Authorization: Bearer
    KEY``."""
    limits = limits or Limits()
    if api_key is not None:
        check_api_key(api_key)
    check_servable(model, index)
    model.eval()
    service = Service(model, name, limits, index)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await service.batcher.start()
        yield
        await service.batcher.stop()

    app = FastAPI(
        title="textsiam",
        version=__version__,
        description="Similarity, match decisions, embeddings and search with a siamese / pseudo-siamese model.",
        lifespan=lifespan,
    )
    app.state.service = service
    install_error_handlers(app)
    app.add_middleware(FaultGuard)  # inner: around the routes
    app.add_middleware(BodyGuard, limits=limits)  # before the app reads the body
    if api_key is not None:  # before the body is read: an unknown caller costs no body
        open_paths = OPEN_PATHS | {"/metrics"} if open_metrics else OPEN_PATHS
        app.add_middleware(BearerAuth, api_key=api_key, open_paths=open_paths)
    paths = frozenset({route.path for route in router.routes} | {app.docs_url, app.redoc_url, app.openapi_url} - {None})
    app.add_middleware(
        AccessLog, metrics=service.metrics, paths=paths
    )  # outermost: every answer gets its id, log line, count
    app.include_router(router)
    return app
