"""Checks of constructor arguments and raw items shared by towers and pair models.

Each check raises a package error naming the component, the argument and the bad value, and says what is
accepted, so a wrong ``config.json`` or a wrong call fails before any tensor is built.
"""

from __future__ import annotations

from typing import Any

from textsiam.errors import ConfigError, DataError


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}..." if len(text) > 60 else text


def positive_int(owner: str, name: str, value: Any) -> int:
    """``value`` if it is an integer >= 1 (a bool is not), else a ConfigError naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{owner}: {name} must be a positive integer, got {_shown(value)} ({type(value).__name__}); "
            "fix it in the model config"
        )
    return value


def optional_positive_int(owner: str, name: str, value: Any) -> int | None:
    return None if value is None else positive_int(owner, name, value)


def flag(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}: {name} must be true or false, got {_shown(value)} ({type(value).__name__})")
    return value


def probability(owner: str, name: str, value: Any) -> float:
    """A number in [0, 1) (a dropout rate)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ConfigError(f"{owner}: {name} must be a number in [0, 1), got {_shown(value)} ({type(value).__name__})")
    return float(value)


def text(owner: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{owner}: {name} must be a non-empty string, got {_shown(value)} ({type(value).__name__})")
    return value


def item_list(items: Any, side: str) -> None:
    """Raw items must come as a list (or array) of items: a bare string would be scored character by character."""
    if isinstance(items, str | bytes):
        raise DataError(
            f"the {side} input is a single {type(items).__name__} {_shown(items)}, not a list of items; "
            "pass one list per side, e.g. model.predict(['hello'], ['hallo'])"
        )
    if not (hasattr(items, "__len__") and hasattr(items, "__getitem__")):
        raise DataError(
            f"the {side} input must be a list (or array) of items, got a {type(items).__name__}; wrap it in list(...)"
        )


def texts(items: Any) -> None:
    """Every item a non-empty string (the readers reject empty text too)."""
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise DataError(
                f"item {i} is {_shown(item)} ({type(item).__name__}); this tower takes texts (str): "
                "fill in or drop the missing text"
            )
        if not item.strip():
            raise DataError(f"item {i} is an empty or whitespace-only text; remove the pair or fill in its text")
