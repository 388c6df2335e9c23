"""Allowed values declared as data, and one checker for them (scikit-learn's ``validate_params``, for constructors).

A component declares what each constructor keyword may be::

    class ContrastiveLoss(DistanceLoss):
        params = {"margin": Interval(float, 0, None, closed="neither"), "distance": Choice(*METRIC_DISTANCES)}

and its constructor calls ``check_params("contrastive loss", {"margin": margin, ...}, self.params)``, which returns
the values (a float interval turns an int into a float) or raises a :class:`~textsiam.errors.ConfigError` naming
the component, the key, the bad value and what is allowed: ``contrastive loss: margin must be a finite number > 0,
got -1 (int)``. Each constraint can also name values it refuses (``bad_values``), so the contract tests
(``tests/test_params.py``) try them on every registered component without a list of their own. Checks that tie two
keys together (a negative class that must be one of the classes) stay in the constructor, after this one.
"""

from __future__ import annotations

from typing import Any

from textsiam.errors import ConfigError
from textsiam.params.compound import Fields, ListOf, MappingOf, Record, Registered, Spec
from textsiam.params.scalars import (
    POSITIVE_INT,
    PROBABILITY,
    Bool,
    Choice,
    Constraint,
    Interval,
    OneOf,
    Optional,
    Text,
    refuse,
)
from textsiam.registry import Registry

__all__ = [
    "POSITIVE_INT",
    "PROBABILITY",
    "Bool",
    "Choice",
    "Constraint",
    "Fields",
    "MappingOf",
    "Interval",
    "ListOf",
    "OneOf",
    "Optional",
    "Record",
    "Registered",
    "Spec",
    "Text",
    "check_params",
    "refuse",
    "registered_name",
]


def registered_name(registry: Registry, obj: Any) -> str:
    """The name ``obj`` (or its class) is registered under in ``registry``; its class name when it is not registered
    (a subclass a test or a user defines), so an error message can still name the component."""
    try:
        return registry.name_of(obj)
    except ConfigError:
        return type(obj).__name__


def check_params(component: str, values: dict[str, Any], declared: dict[str, Constraint]) -> dict[str, Any]:
    """Each of ``values`` checked against its declared constraint: the converted values, or a ConfigError naming
    ``component``, the key, the bad value and what is allowed. A key without a declaration is a programming error."""
    missing = sorted(set(values) - set(declared))
    if missing:
        raise TypeError(f"{component}: no declared constraint for {missing}; add them to its params")
    return {key: declared[key].check(value, f"{component}: {key}") for key, value in values.items()}
