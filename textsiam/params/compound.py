"""The constraints on names and containers: a registered name, a component spec, a list, an object of fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textsiam.errors import ConfigError
from textsiam.params.scalars import Constraint, refuse
from textsiam.registry import Registry


class Registered(Constraint):
    """A name registered in ``registry`` (read when checked, so later registrations count)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def allows(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.registry

    def describe(self) -> str:
        return f"a registered {self.registry.singular}: {', '.join(self.registry.names())}"

    def bad_values(self) -> list[Any]:
        return ["not-a-registered-name", 3]


class Record(Constraint):
    """Any JSON object (a record a component keeps, such as a fit's summary): its keys are not checked."""

    def allows(self, value: Any) -> bool:
        return isinstance(value, Mapping)

    def describe(self) -> str:
        return "an object"

    def bad_values(self) -> list[Any]:
        return ["not an object", [1]]


class ListOf(Constraint):
    """A list (or tuple) of at least ``min_len`` items, each allowed by ``item``; ``unique``: no repeats."""

    def __init__(self, item: Constraint, min_len: int = 1, unique: bool = False) -> None:
        self.item, self.min_len, self.unique = item, min_len, unique

    def allows(self, value: Any) -> bool:
        if not isinstance(value, list | tuple) or len(value) < self.min_len:
            return False
        if self.unique and len({repr(v) for v in value}) != len(value):
            return False
        return all(self.item.allows(v) for v in value)

    def convert(self, value: Any) -> Any:
        return [self.item.convert(v) for v in value]

    def check(self, value: Any, where: str) -> Any:
        """The list's own problem (not a list, too short, repeats), else the first bad item by its index."""
        if not self.allows(value) and isinstance(value, list | tuple) and len(value) >= self.min_len:
            if not self.unique or len({repr(v) for v in value}) == len(value):
                return [self.item.check(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return super().check(value, where)

    def describe(self) -> str:
        size = "a non-empty list" if self.min_len == 1 else f"a list of at least {self.min_len}"
        size = "a list" if self.min_len == 0 else size
        return f"{size}{' distinct' if self.unique else ''} of ({self.item.describe()})"

    def bad_values(self) -> list[Any]:
        bad = [[self.item.bad_values()[0]], "not a list"]
        return bad + ([[]] if self.min_len else [])


class Spec(Constraint):
    """A component by name: ``{"name": a registered name, "args": {...}}`` (``args`` optional), plus optional
    ``extra`` keys with their own constraints (a combined loss part's ``weight``)."""

    def __init__(self, registry: Registry, **extra: Constraint) -> None:
        self.registry, self.extra = registry, extra

    def allows(self, value: Any) -> bool:
        if not isinstance(value, Mapping) or set(value) - {"name", "args", *self.extra}:
            return False
        if not all(c.allows(value[k]) for k, c in self.extra.items() if k in value):
            return False
        return Registered(self.registry).allows(value.get("name")) and isinstance(value.get("args", {}), Mapping)

    def describe(self) -> str:
        extra = "".join(f", '{k}': {c.describe()} (optional)" for k, c in self.extra.items())
        return f"{{'name': ..., 'args': {{...}}{extra}}} naming a registered {self.registry.singular}"

    def bad_values(self) -> list[Any]:
        return ["mlp-head", {"name": "not-a-registered-name"}, {"name": self.registry.names()[0], "args": 3}]


class Fields(Constraint):
    """A mapping of some of the keys in ``fields`` (each value checked by its constraint); other keys are refused."""

    def __init__(self, fields: dict[str, Constraint]) -> None:
        self.fields = fields

    def allows(self, value: Any) -> bool:
        if not isinstance(value, Mapping):
            return False
        return all(k in self.fields and self.fields[k].allows(v) for k, v in value.items())

    def describe(self) -> str:
        return f"an object of some of {list(self.fields)}"

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, Mapping):
            raise refuse(where, self.describe(), value)
        unknown = sorted(set(value) - set(self.fields), key=str)
        if unknown:
            raise ConfigError(f"{where}: unknown option(s) {unknown}; it takes {list(self.fields)}")
        return {k: self.fields[k].check(v, f"{where}[{k!r}]") for k, v in value.items()}

    def bad_values(self) -> list[Any]:
        first, constraint = next(iter(self.fields.items()))
        return ["not an object", {"not-an-option": 1}, {first: constraint.bad_values()[0]}]


class MappingOf(Constraint):
    """A mapping of non-empty string keys (names checked elsewhere, e.g. towers against the model) to values each
    allowed by ``value``."""

    def __init__(self, value: Constraint) -> None:
        self.value = value

    def allows(self, value: Any) -> bool:
        if not isinstance(value, Mapping):
            return False
        return all(isinstance(k, str) and k and self.value.allows(v) for k, v in value.items())

    def describe(self) -> str:
        return f"an object of name -> ({self.value.describe()})"

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
            raise refuse(where, self.describe(), value)
        return {k: self.value.check(v, f"{where}[{k!r}]") for k, v in value.items()}

    def bad_values(self) -> list[Any]:
        return ["not an object", {"name": self.value.bad_values()[0]}]
