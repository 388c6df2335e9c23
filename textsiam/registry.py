"""One registry mechanism for every kind of named component.

Encoders, poolers, similarities, heads, pair models, losses, dataset readers and presets are all looked up by
name through a :class:`Registry`. A duplicate name is an error; an unknown name raises an error that lists close
matches and says how to list them all.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator
from typing import Any


class Registry:
    """A name -> component table for one kind of component (e.g. ``"losses"``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._descriptions: dict[str, str] = {}

    def register(self, name: str, obj: Any = None, *, description: str | None = None) -> Any:
        """Register ``obj`` under ``name``; usable as a decorator: ``@LOSSES.register("contrastive")``."""

        def _add(target: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} registry already has an entry named {name!r}; names must be unique")
            self._entries[name] = target
            self._descriptions[name] = description or _first_doc_line(target)
            return target

        return _add if obj is None else _add(obj)

    def get(self, name: str) -> Any:
        """Return the component registered as ``name``, or raise a ``KeyError`` naming close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self._unknown_message(name)) from None

    def build(self, name: str, **kwargs: Any) -> Any:
        """Call the component registered as ``name`` with ``kwargs`` (constructs a class, calls a factory)."""
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def describe(self) -> dict[str, str]:
        """Sorted ``{name: one-line description}``."""
        return {name: self._descriptions[name] for name in self.names()}

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return (
            f"unknown {self.kind[:-1] if self.kind.endswith('s') else self.kind} {name!r}.{hint} "
            f"Run `textsiam list {self.kind}` to see all {len(self._entries)} of them."
        )

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def _first_doc_line(obj: Callable[..., Any] | Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


ENCODERS = Registry("encoders")
POOLERS = Registry("poolers")
SIMILARITIES = Registry("similarities")
HEADS = Registry("heads")
PAIR_MODELS = Registry("pair_models")
LOSSES = Registry("losses")
READERS = Registry("readers")
"""File formats (and dataset folders): one reader per format, with the file-name patterns that detect it."""
DATASETS = Registry("datasets")
"""Embedded datasets addressed as ``NAME:SPLIT`` (e.g. ``digits:train``); readers of file formats live in READERS."""
PRESETS = Registry("presets")
STRATEGIES = Registry("strategies")
"""Threshold strategies (youden, max-f1, ...)."""
CALIBRATORS = Registry("calibrators")
"""Score -> probability calibrators (platt, isotonic)."""

ALL_REGISTRIES: dict[str, Registry] = {
    r.kind: r
    for r in (
        ENCODERS,
        POOLERS,
        SIMILARITIES,
        HEADS,
        PAIR_MODELS,
        LOSSES,
        READERS,
        DATASETS,
        PRESETS,
    )
}
# STRATEGIES and CALIBRATORS join ALL_REGISTRIES once textsiam.eval registers into them (house issue, in progress).
