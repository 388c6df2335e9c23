"""The constraints on one value: numbers in an interval, a choice, a bool, a string, null-or, one-of."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from textsiam.errors import ConfigError, shown

_CLOSED = {"both": (True, True), "left": (True, False), "right": (False, True), "neither": (False, False)}


def refuse(where: str, allowed: str, value: Any) -> ConfigError:
    """The one message: ``<component>: <key> must be <allowed>, got <value> (<type>)``."""
    return ConfigError(f"{where} must be {allowed}, got {shown(value)} ({type(value).__name__})")


class Constraint:
    """What one keyword may be. Subclasses implement ``allows`` and ``describe`` (and ``bad_values``)."""

    def allows(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        """What is allowed, as it reads after "must be": ``a positive integer``, ``one of 'mean', 'max'``."""
        raise NotImplementedError

    def bad_values(self) -> list[Any]:
        """Values this constraint refuses: what the contract tests pass to every component that declares it."""
        raise NotImplementedError

    def convert(self, value: Any) -> Any:
        return value

    def check(self, value: Any, where: str) -> Any:
        """``value`` (converted) if allowed, else the ConfigError naming ``where`` (``component: key``)."""
        if not self.allows(value):
            raise refuse(where, self.describe(), value)
        return self.convert(value)


class Interval(Constraint):
    """An int (``kind=int``: bools refused) or a finite number (``kind=float``: ints accepted and converted) between
    ``low`` and ``high`` (None: unbounded); ``closed`` says which ends belong: "both", "left", "right", "neither"."""

    def __init__(self, kind: type, low: float | None = None, high: float | None = None, closed: str = "both"):
        if kind not in (int, float) or closed not in _CLOSED:
            raise ValueError(f"Interval(kind int or float, closed one of {list(_CLOSED)}), got {kind}, {closed!r}")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def allows(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.kind is int else int | float):
            return False
        if not math.isfinite(value):
            return False
        left, right = _CLOSED[self.closed]
        if self.low is not None and not (value >= self.low if left else value > self.low):
            return False
        return self.high is None or (value <= self.high if right else value < self.high)

    def convert(self, value: Any) -> Any:
        return float(value) if self.kind is float else value

    def describe(self) -> str:
        left, right = _CLOSED[self.closed]
        noun = "an integer" if self.kind is int else "a finite number"
        if self.kind is int and self.high is None and self.low is not None and self.low == (1 if left else 0):
            return "a positive integer"
        if self.low is not None and self.high is not None:
            if self.kind is int and left and right:
                return f"{noun} in {self.low}..{self.high}"
            return f"{noun} in {'[' if left else '('}{self.low}, {self.high}{']' if right else ')'}"
        if self.low is not None:
            return f"{noun} {'>=' if left else '>'} {self.low}"
        if self.high is not None:
            return f"{noun} {'<=' if right else '<'} {self.high}"
        return noun

    def bad_values(self) -> list[Any]:
        left, right = _CLOSED[self.closed]
        step = 1 if self.kind is int else 1e-3
        bad: list[Any] = ["1", True, None, 0.5] if self.kind is int else ["1", True, None, math.nan, math.inf]
        if self.low is not None:
            bad.append(self.low - step if left else self.low)
        if self.high is not None:
            bad.append(self.high + step if right else self.high)
        return [v for v in bad if not self.allows(v)]


POSITIVE_INT = Interval(int, 1)
"""An integer >= 1 (a size, a count)."""
PROBABILITY = Interval(float, 0, 1, closed="left")
"""A number in [0, 1) (a dropout rate)."""


class Choice(Constraint):
    """One of a fixed set of values (strings, usually)."""

    def __init__(self, *options: Any) -> None:
        self.options = options

    def allows(self, value: Any) -> bool:
        return any(type(value) is type(o) and value == o for o in self.options)

    def describe(self) -> str:
        return f"one of {', '.join(map(repr, self.options))}"

    def bad_values(self) -> list[Any]:
        return ["not-an-option", None, 3]


class Bool(Constraint):
    """True or False (not 0/1, not "yes")."""

    def allows(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"

    def bad_values(self) -> list[Any]:
        return ["yes", 1, None]


class Text(Constraint):
    """A non-empty string, optionally one that contains ``contains`` (a ``{}`` placeholder)."""

    def __init__(self, contains: str | None = None) -> None:
        self.contains = contains

    def allows(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value) and (self.contains is None or self.contains in value)

    def describe(self) -> str:
        return f"a string containing {self.contains!r}" if self.contains else "a non-empty string"

    def bad_values(self) -> list[Any]:
        return ["", 3, None] + (["no placeholder"] if self.contains else [])


class Optional(Constraint):
    """None, or what ``inner`` allows."""

    def __init__(self, inner: Constraint) -> None:
        self.inner = inner

    def allows(self, value: Any) -> bool:
        return value is None or self.inner.allows(value)

    def convert(self, value: Any) -> Any:
        return None if value is None else self.inner.convert(value)

    def describe(self) -> str:
        return f"{self.inner.describe()} or null"

    def check(self, value: Any, where: str) -> Any:
        """None, or what ``inner``'s own check says (its message names a bad item inside a list or an object)."""
        if value is None:
            return None
        if isinstance(value, list | tuple | Mapping):
            return self.inner.check(value, where)
        return super().check(value, where)

    def bad_values(self) -> list[Any]:
        return [v for v in self.inner.bad_values() if v is not None]


class OneOf(Constraint):
    """What any of ``options`` allows (the first that does converts it); ``text`` says it in words."""

    def __init__(self, *options: Constraint, text: str | None = None) -> None:
        self.options, self.text = options, text

    def allows(self, value: Any) -> bool:
        return any(o.allows(value) for o in self.options)

    def convert(self, value: Any) -> Any:
        return next(o.convert(value) for o in self.options if o.allows(value))

    def describe(self) -> str:
        return self.text or " or ".join(o.describe() for o in self.options)

    def bad_values(self) -> list[Any]:
        return [v for o in self.options for v in o.bad_values() if not self.allows(v)]
