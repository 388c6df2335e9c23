"""Every refusal is a JSON body ``{"error": {"message", "type", "param", "code"}}`` (the OpenAI error shape, so
OpenAI clients show the message) with a 4xx status; only a fault of the service itself is a 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from textsiam.errors import DataError
from textsiam.serve.limits import ApiError

log = logging.getLogger("textsiam.serve")


def error_response(
    status: int,
    message: str,
    param: str | None = None,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    kind = kind or ("invalid_request_error" if status < 500 else "server_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    return JSONResponse(body, status, headers=headers)


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


def _refused_data(request: Request, exc: DataError) -> JSONResponse:
    """The model refused this request's input (the route's checks let it through): the caller's input, a 422."""
    return error_response(422, f"the model refused this request's input: {exc}")


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)  # not inside an except
    return error_response(500, f"internal error ({type(exc).__name__}); the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, lambda r, e: error_response(e.status, e.message, e.param, e.kind, e.headers))
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(DataError, _refused_data)
    app.add_exception_handler(Exception, _unexpected)


class FaultGuard:
    """ASGI middleware around the routes: an exception out of a route is answered here with the JSON 500 (its
    traceback logged) and not raised further. Raised on, it reached uvicorn, which closes a connection whose app
    raised, so the client's next request on that keep-alive connection was reset: a fault failed one request only
    in its answer, not in the connection it came on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:  # part of an answer is out: nothing clean to send, let the server close the connection
                raise
            await _unexpected(Request(scope), exc)(scope, receive, send)
