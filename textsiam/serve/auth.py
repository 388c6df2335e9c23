"""API-key authentication (``textsiam serve --api-key KEY`` or ``TEXTSIAM_API_KEY``): an ASGI middleware that lets a
request through only with ``Authorization: Bearer KEY``; ``/healthz`` (and ``/metrics`` when asked) stay open."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from textsiam.errors import ConfigError
from textsiam.serve.http_errors import error_response

ENV_VAR = "TEXTSIAM_API_KEY"
OPEN_PATHS = frozenset({"/healthz"})


def check_api_key(key: str) -> str:
    """A key must be a non-empty run of visible ASCII characters (it travels in an HTTP header); the message never
    shows the key."""
    if not key:
        raise ConfigError(f"the API key is empty: pass --api-key KEY or set {ENV_VAR} to a non-empty value")
    if not all("!" <= ch <= "~" for ch in key):
        raise ConfigError(
            f"the API key (--api-key / {ENV_VAR}) holds a space, a control or a non-ASCII character: use visible "
            "ASCII characters only (e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return key


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class BearerAuth:
    """ASGI middleware: a request to any path but ``open_paths`` needs ``Authorization: Bearer KEY``, else a 401 in
    the JSON error shape with ``WWW-Authenticate: Bearer``. The key is compared in constant time: both sides are
    hashed to 32 bytes first (so not even the key's length shows in the timing), then ``hmac.compare_digest``. The
    key is never logged and never echoed, nor is the credential a client sent."""

    def __init__(self, app: Any, api_key: str, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app, self.open_paths = app, open_paths
        self._digest = _digest(check_api_key(api_key).encode("ascii"))

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            return await self.app(scope, receive, send)
        header = next((v for k, v in scope["headers"] if k.lower() == b"authorization"), None)
        refusal = self._refusal(header)
        if refusal is not None:
            return await refusal(scope, receive, send)
        await self.app(scope, receive, send)

    def _refusal(self, header: bytes | None) -> Any:
        if header is None:
            return self._unauthorized("this service needs an API key: send the header `Authorization: Bearer KEY`")
        scheme, _, token = header.strip().partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return self._unauthorized(
                "the Authorization header is not `Bearer KEY`: send `Authorization: Bearer KEY` (the key the "
                f"service was started with, --api-key / {ENV_VAR})",
                'Bearer error="invalid_request"',
            )
        if not hmac.compare_digest(_digest(token.strip()), self._digest):
            return self._unauthorized(
                f"the API key is not valid: send the key the service was started with (--api-key / {ENV_VAR})",
                'Bearer error="invalid_token"',
            )
        return None

    @staticmethod
    def _unauthorized(message: str, challenge: str = "Bearer") -> Any:
        return error_response(401, message, kind="authentication_error", headers={"WWW-Authenticate": challenge})
