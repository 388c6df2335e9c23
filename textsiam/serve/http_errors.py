"""Every refusal is a JSON body ``{"error": {"message", "type", "param", "code"}}`` (the OpenAI error shape, so
OpenAI clients show the message) with a 4xx status; only a fault of the service itself is a 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from textsiam.serve.limits import ApiError

log = logging.getLogger("textsiam.serve")


def error_response(status: int, message: str, param: str | None = None, kind: str | None = None) -> JSONResponse:
    kind = kind or ("invalid_request_error" if status < 500 else "server_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": status}}, status)


def _where(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _describe(err: dict[str, Any]) -> str:
    where = _where(tuple(err.get("loc", ())))
    got = err.get("input")
    text = repr(got) if len(repr(got)) <= 40 else repr(got)[:37] + "..."
    shown = "" if err.get("type") == "missing" else f" (got {type(got).__name__} {text})"
    if not where:
        return f"request body: {err['msg']}{shown}; send a JSON object as the docs at /docs show"
    return f"{where}: {err['msg']}{shown}"


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = (bad_json.get("ctx") or {}).get("error", "invalid JSON")
        where = bad_json["loc"][-1] if len(bad_json.get("loc", ())) > 1 else "?"
        return error_response(400, f"malformed JSON body at character {where}: {reason}")
    message = "; ".join(_describe(e) for e in errors[:5]) + (
        f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    )
    return error_response(422, message, _where(tuple(errors[0].get("loc", ()))) or None)


def _http(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 404:
        message = f"no endpoint {request.method} {request.url.path}; the API is listed at /docs and /openapi.json"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the methods it takes"
    elif exc.status_code == 400:
        message = f"the request body could not be read as JSON: {exc.detail}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, message)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, f"internal error ({type(exc).__name__}); the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, lambda r, e: error_response(e.status, e.message, e.param, e.kind))
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


class BodyGuard:
    """ASGI middleware: refuses bodies over ``max_bytes`` (413) and POST bodies declared as something other than
    JSON (415) before the app sees them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope["method"], headers)
        body = b""
        if refusal is None:
            body, refusal = await self._read(receive)
        if refusal is not None:
            return await refusal(scope, receive, send)
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _refusal(self, method: str, headers: dict[str, str]) -> JSONResponse | None:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            return self._too_large(int(length))
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if method == "POST" and media and media != "application/json" and not media.endswith("+json"):
            return error_response(415, f"content type {media!r} is not accepted; send JSON (application/json)")
        return None

    async def _read(self, receive: Any) -> tuple[bytes, JSONResponse | None]:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"", None  # the client disconnected; the app sees an empty body and nobody reads the answer
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return b"", self._too_large(size)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    def _too_large(self, size: int) -> JSONResponse:
        return error_response(413, f"the request body has {size} bytes or more; the limit is {self.max_bytes}")
