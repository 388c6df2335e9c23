"""Checks of call arguments and raw items shared by towers and pair models (constructor keywords are declared in
each component's ``params``: :mod:`textsiam.params`).

Each check raises a package error naming the argument and the bad value, and says what is accepted, so a wrong
call fails before any tensor is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from textsiam.errors import DataError
from textsiam.params import POSITIVE_INT


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}..." if len(text) > 60 else text


def positive_int(owner: str, name: str, value: Any) -> int:
    """``value`` if it is an integer >= 1 (a bool is not), else a ConfigError naming ``owner`` and ``name``: a call
    argument (``encode``'s ``batch_size``); constructor keywords are declared in each component's ``params``."""
    return POSITIVE_INT.check(value, f"{owner}: {name}")


def item_list(items: Any, side: str) -> list:
    """Raw items as a plain list: a list or tuple, a 1-d numpy array or pandas Series of items (texts, image paths),
    or a stack of image arrays (each row one image). A bare string would be scored character by character and a
    dict by its keys: both are refused, as is anything without a length (a generator)."""
    if isinstance(items, str | bytes):
        raise DataError(
            f"the {side} input is a single {type(items).__name__} {_shown(items)}, not a list of items; "
            "pass one list per side, e.g. model.predict(['hello'], ['hallo'])"
        )
    if isinstance(items, Mapping):
        raise DataError(
            f"the {side} input is a {type(items).__name__}, not a list of items (a dict would be read by its keys); "
            "pass list(d.values()) or list(d.keys()), whichever holds the items"
        )
    if isinstance(items, list | tuple):
        return list(items)
    if hasattr(items, "to_numpy") and hasattr(items, "ndim"):  # pandas Series / Index (DataFrame: 2-d, refused)
        if items.ndim != 1:
            raise DataError(
                f"the {side} input is a {type(items).__name__} with {items.ndim} dimensions; pass one column of "
                "items, e.g. df['text_a']"
            )
        items = items.to_numpy()
    if isinstance(items, np.ndarray):
        if items.ndim == 0:
            raise DataError(f"the {side} input is a 0-d array {_shown(items)}, not a list of items; wrap it in [...]")
        # 1-d: one item per entry (numpy str_ becomes str); n-d: one item per row (an image array per row)
        return items.tolist() if items.ndim == 1 else list(items)
    if not (hasattr(items, "__len__") and hasattr(items, "__getitem__")):
        raise DataError(
            f"the {side} input must be a list (or array) of items, got a {type(items).__name__}; wrap it in list(...)"
        )
    return list(items)


def texts(items: Any) -> None:
    """Every item a non-empty string that is valid Unicode (the readers reject empty text too)."""
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise DataError(
                f"item {i} is {_shown(item)} ({type(item).__name__}); this tower takes texts (str): "
                "fill in or drop the missing text"
            )
        if not item.strip():
            raise DataError(f"item {i} is an empty or whitespace-only text; remove the pair or fill in its text")
    try:
        "".join(items).encode("utf-8")  # one pass for all; a lone surrogate (U+D800..U+DFFF) cannot be encoded
    except UnicodeEncodeError:
        for i, item in enumerate(items):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as err:
                raise DataError(
                    f"item {i} {_shown(item)} holds a lone surrogate {item[err.start]!r} at character {err.start}, "
                    "which is not a Unicode character (a broken UTF-16 or surrogateescape decode); decode the text "
                    "correctly, or replace it: text.encode('utf-8', 'replace').decode()"
                ) from None
