"""Request ids, one access log line per request and the request metrics: an ASGI middleware outside all the others,
so that every answer (401, 413, 429, 500 ...) is counted, logged and carries its ``X-Request-ID``; and the log
formats of ``textsiam serve --log-format plain|json``."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from textsiam.serve.metrics import Metrics

log = logging.getLogger("textsiam.serve.access")
REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=@-]{1,128}")
"""A client's ``X-Request-ID`` is kept when it matches (a UUID, a trace id, base64 ...), else a new one is made: no
spaces, quotes or control characters reach a log line or a header."""
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
FIELDS = ("method", "path", "status", "latency_ms", "items", "request_id")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    given = next((v for k, v in headers if k.lower() == b"x-request-id"), b"").decode("latin-1")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class AccessLog:
    """ASGI middleware: takes (or makes) the request id, adds ``X-Request-ID`` to the answer, and when the answer is
    out logs one line (method, path, status, latency in ms, items, request id) and counts it in ``metrics`` under
    its route (one of ``paths``, the app's, or ``other``: unknown paths never make new series).
    The items are the pairs / texts / queries the route found in the request (``request.state.items``)."""

    def __init__(self, app: Any, metrics: Metrics, paths: frozenset[str]) -> None:
        self.app, self.metrics, self.paths = app, metrics, paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, rid, status = time.perf_counter(), request_id(scope["headers"]), 500
        state = scope.setdefault("state", {})

        async def tagged(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode("ascii"))]}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            seconds = time.perf_counter() - started
            items = state.get("items", 0) if isinstance(state, dict) else 0
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = scope["path"] if scope["path"] in self.paths else "other"
            self.metrics.request(method, route, status, seconds, items)
            record = dict(
                zip(FIELDS, (scope["method"][:16], scope["path"][:200], status, round(seconds * 1000, 2), items, rid))
            )
            log.info("%s", _plain(record), extra={"access": record})


def _plain(record: dict[str, Any]) -> str:
    path = json.dumps(record["path"])[1:-1]  # control characters escaped: one request, one line
    return (
        f"{record['method']} {path} {record['status']} {record['latency_ms']:.1f} ms "
        f"items={record['items']} request_id={record['request_id']}"
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, and the access fields (or the message, and the traceback of
    an error)."""

    def format(self, record: logging.LogRecord) -> str:
        time_ = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line: dict[str, Any] = {"time": time_, "level": record.levelname.lower(), "logger": record.name}
        access = getattr(record, "access", None)
        if access is not None:
            line.update(access)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_config(log_format: str, level: str = "info") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of ``textsiam serve``, handed to uvicorn: the service's and uvicorn's own
    lines in one format on stderr; uvicorn's access log is off (the service writes its own line per request). Python
    warnings (a text cut at the model's max_length, a deprecation) go to the ``py.warnings`` logger in the same format
    once :func:`logging.captureWarnings` is on (``textsiam serve`` turns it on), so that a JSON log stays one JSON
    object per line."""
    plain = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": log_format, "stream": "ext://sys.stderr"}
    logger = {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": plain, "json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "textsiam.serve": logger,
            "uvicorn": logger,
            "uvicorn.error": {"level": level.upper()},
            "py.warnings": logger,
        },
    }
