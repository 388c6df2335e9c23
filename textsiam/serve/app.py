"""The FastAPI app: similarity, match, embeddings (native and OpenAI-shaped), search, model info, health."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from textsiam.errors import ConfigError, DataError
from textsiam.index.store import Index
from textsiam.models.base import PairModel
from textsiam.serve.batcher import Batcher
from textsiam.serve.body import BodyGuard
from textsiam.serve.http_errors import FaultGuard, install_error_handlers
from textsiam.serve.limits import Limits
from textsiam.version import __version__


class Service:
    """What the routes share: the model, its name, the batcher, the optional search index and the limits."""

    def __init__(self, model: PairModel, name: str, limits: Limits, index: Index | None) -> None:
        self.model, self.name, self.limits, self.index = model, name, limits, index
        self.batcher = Batcher(model, limits)


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
    if index.embeddings.shape[1] != model.embedding_dim:
        raise ConfigError(
            f"the index holds {index.embeddings.shape[1]}-dim vectors but the model makes {model.embedding_dim}-dim "
            "ones: build the index with the same model (`textsiam encode`)"
        )
    if model.head is not None:
        raise ConfigError("this model scores pairs with a learned head, which cannot rank an index; serve without it")


def create_app(
    model: PairModel, *, name: str = "textsiam-model", limits: Limits | None = None, index: Index | None = None
) -> FastAPI:
    """The ASGI app serving ``model``. Run it with uvicorn, or use ``fastapi.testclient.TestClient(app)``."""
    limits = limits or Limits()
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
    app.add_middleware(BodyGuard, limits=limits)  # outer: before the app reads the body
    from textsiam.serve.routes import router

    app.include_router(router)
    return app


def model_info(service: Service) -> dict[str, Any]:
    model, config = service.model, service.model.get_config()
    from textsiam.registry import PRESETS

    decision = model.decision
    index = service.index
    return {
        "model": service.name,
        "preset": service.name if service.name in PRESETS else None,
        "pair_model": config["pair_model"],
        "towers": {side: config.get(side, config.get("encoder")) for side in ("left", "right")},
        "shared_tower": model.left is model.right,
        "embedding_dim": model.embedding_dim,
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
        "limits": vars(service.limits),
    }
