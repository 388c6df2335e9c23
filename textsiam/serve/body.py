"""The request body, checked once before the app parses it (an ASGI middleware): its size, its content type, that it
arrives in full within a bounded time, that it is UTF-8 and that its JSON does not nest too deep."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import numpy as np
from fastapi.responses import JSONResponse

from textsiam.serve.http_errors import error_response
from textsiam.serve.limits import Limits

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # a JSON string: its brackets do not nest anything
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)
_JSON_HINT = "send JSON with the header `Content-Type: application/json` (curl: -H 'content-type: application/json')"


def json_depth(body: bytes) -> int:
    """How many levels deep the brackets of a JSON text nest (strings skipped), in C / numpy time, so a deep body
    is refused before the recursive parser sees it."""
    codes = np.frombuffer(_STRING.sub(b"", body), np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int64) - np.isin(codes, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


class BodyGuard:
    """ASGI middleware, before the app sees a request: a body over ``max_body_bytes`` is a 413; a POST body
    declared as something other than JSON, or not declared at all, a 415 naming the header to send; a body that
    does not arrive in full within ``body_timeout_s`` a 408 (then the connection closes); a body that is not UTF-8
    a 400; JSON nested deeper than ``max_depth`` a 413."""

    def __init__(self, app: Any, limits: Limits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope["method"], headers)
        body = b""
        if refusal is None:
            body, refusal = await self._read(receive, headers.get("content-length"))
        if refusal is None and body and scope["method"] == "POST":
            refusal = self._check(body, headers)
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
        if length.isdigit() and int(length) > self.limits.max_body_bytes:
            return self._too_large(int(length))
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if method == "POST" and media and media != "application/json" and not media.endswith("+json"):
            return error_response(415, f"content type {media!r} is not accepted; {_JSON_HINT}")
        return None

    async def _read(self, receive: Any, declared: str | None) -> tuple[bytes, JSONResponse | None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout_s
        chunks, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                return b"", self._timed_out(size, declared)
            if message["type"] != "http.request":
                return b"", None  # the client disconnected; the app sees an empty body and nobody reads the answer
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limits.max_body_bytes:
                return b"", self._too_large(size)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    def _check(self, body: bytes, headers: dict[str, str]) -> JSONResponse | None:
        if not headers.get("content-type", "").strip():
            return error_response(415, f"the request has a body but no Content-Type header; {_JSON_HINT}")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as err:
            byte = body[err.start : err.start + 1].hex()
            return error_response(
                400, f"the request body is not valid UTF-8 (byte 0x{byte} at position {err.start}); send UTF-8 JSON"
            )
        opened = body.count(b"[") + body.count(b"{")  # the depth is at most this: most bodies need no scan
        depth = json_depth(body) if opened > self.limits.max_depth else 0
        if depth > self.limits.max_depth:
            return error_response(
                413,
                f"the JSON body nests {depth} levels deep; the limit is {self.limits.max_depth} (a request "
                'needs 3: {"pairs": [{"a": ...}]})',
            )
        return None

    def _timed_out(self, size: int, declared: str | None) -> JSONResponse:
        expected = f"of the {declared} declared by Content-Length " if declared else ""
        message = (
            f"the request body did not arrive in full within {self.limits.body_timeout_s:g} s ({size} bytes "
            f"{expected}received); send the whole body, with a Content-Length that matches it"
        )
        answer = error_response(408, message)
        answer.headers["connection"] = "close"  # the rest of that body may still come: never read it as a request
        return answer

    def _too_large(self, size: int) -> JSONResponse:
        return error_response(
            413, f"the request body has {size} bytes or more; the limit is {self.limits.max_body_bytes}"
        )
