"""HTTP scoring service (FastAPI + uvicorn, the optional ``serve`` extra): similarity, match, embeddings, search.

``create_app(model)`` builds the ASGI app; ``serve(...)`` runs it with uvicorn (``textsiam serve``). Requests from
concurrent callers are batched together and run on one worker thread, off the event loop.
"""

from __future__ import annotations

from typing import Any

from textsiam.serve.limits import Limits

__all__ = ["Limits", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from textsiam.serve.app import create_app

        return create_app
    if name == "serve":
        from textsiam.serve.server import serve

        return serve
    raise AttributeError(f"module 'textsiam.serve' has no attribute {name!r}")
