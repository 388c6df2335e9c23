"""Request limits of the service and the checks that turn a violation into a clear 4xx answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textsiam.errors import ConfigError


class ApiError(Exception):
    """A request the service refuses: an HTTP status, a message naming the field and the fix, the field's path."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.param, self.kind = status, message, param, kind
        self.headers = headers or {}


@dataclass(frozen=True)
class Limits:
    """``max_items``: pairs / texts / queries per request; ``max_chars``: characters per text; ``max_body_bytes``:
    request body size; ``max_batch``: texts per inference batch across requests; ``window_ms``: how long the
    batcher waits for one more request to join a batch (a batch gathers for at most 10 windows); ``max_pending``:
    queued requests before answering 429 (with ``Retry-After: retry_after_s``, which OpenAI-style clients wait
    before retrying); ``max_depth``: nesting
    levels of a JSON body (deeper is a 413 before parsing); ``body_timeout_s``: how long a request body may take
    to arrive in full (a body shorter than its ``Content-Length`` is a 408 after that)."""

    max_items: int = 256
    max_chars: int = 10_000
    max_body_bytes: int = 8_000_000
    max_batch: int = 256
    window_ms: float = 2.0
    max_pending: int = 1024
    retry_after_s: int = 1
    max_k: int = 1000
    max_depth: int = 32
    body_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("max_items", "max_chars", "max_body_bytes", "max_batch", "max_pending", "max_k", "max_depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"serve limit {name} must be a positive integer, got {value!r}")
        retry = self.retry_after_s
        if isinstance(retry, bool) or not isinstance(retry, int) or not 1 <= retry <= 3600:
            raise ConfigError(
                f"serve limit retry_after_s must be a whole number of seconds from 1 to 3600, got {retry!r}"
            )
        if not isinstance(self.window_ms, int | float) or not 0 <= self.window_ms <= 1000:
            raise ConfigError(f"serve limit window_ms must be between 0 and 1000, got {self.window_ms!r}")
        timeout = self.body_timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
            raise ConfigError(f"serve limit body_timeout_s must be above 0 and at most 3600 seconds, got {timeout!r}")


def check_count(n: int, field: str, limits: Limits) -> None:
    if n == 0:
        raise ApiError(422, f"{field} is empty: send at least one item", field)
    if n > limits.max_items:
        raise ApiError(
            413, f"{field} holds {n} items; the limit is {limits.max_items} per request: split the request", field
        )


def check_text(text: str, field: str, limits: Limits) -> None:
    """One text of one request, checked before it joins a shared inference batch (a text the model refuses would
    otherwise fail every request batched with it)."""
    if not text.strip():
        what = "an empty text" if not text else f"a whitespace-only text ({text[:20]!r})"
        raise ApiError(422, f"{field} is {what}; send a non-empty text, or leave the item out", field)
    if len(text) > limits.max_chars:
        raise ApiError(413, f"{field} is {len(text)} characters long; the limit is {limits.max_chars} per text", field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(422, f"{field} is not valid Unicode (it holds an unpaired surrogate escape)", field) from None


def check_texts(texts: Sequence[str], field: str, limits: Limits) -> None:
    check_count(len(texts), field, limits)
    for i, text in enumerate(texts):
        check_text(text, f"{field}[{i}]", limits)
