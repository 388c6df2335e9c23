"""``build_loss``: a loss by registry name (or the ``"a+b"`` short form of a combined loss) with checked keywords."""

from __future__ import annotations

import inspect
from typing import Any

from textsiam.errors import ConfigError
from textsiam.losses.base import PairLoss
from textsiam.registry import LOSSES


def build_loss(name: str | PairLoss, **kwargs: Any) -> PairLoss:
    """Build the loss registered as ``name`` with keyword arguments (a built loss passes through unchanged).

    Unknown names raise the registry's ``ConfigError`` with the valid names and the closest one; unknown keywords
    raise a ``ConfigError`` listing the ones the loss accepts.
    """
    if isinstance(name, str) and "+" in name:  # short form of a combined loss: "cosent+multiple-negatives"
        parts = [{"name": part, "args": kwargs.pop(part, {})} for part in loss_names(name)]
        if kwargs:
            raise ConfigError(
                f"for a combined loss, key loss_args by part name {name.split('+')}, got {sorted(kwargs)}"
            )
        return LOSSES.get("combined")(parts=parts)
    if isinstance(name, PairLoss):
        if kwargs:
            raise ConfigError(f"got a built loss {name!r} and extra arguments {sorted(kwargs)}; pass one or the other")
        return name
    cls = LOSSES.get(name)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(
            f"loss {name!r} has no argument {', '.join(map(repr, unknown))}; "
            f"it accepts {', '.join(map(repr, accepted)) or 'no arguments'}"
        )
    return cls(**kwargs)


def loss_names(spec: str) -> list[str]:
    """The registered loss names in ``spec`` (``"cosent+multiple-negatives"`` -> both); a ConfigError if unknown."""
    if not isinstance(spec, str):
        raise ConfigError(f"a loss name must be a string, got {spec!r}")
    names = spec.split("+")
    for part in names:
        LOSSES.get(part)
    return names
