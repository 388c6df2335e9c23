"""Pair losses: tensors in, scalar out. Importing this package registers every loss in ``LOSSES``."""

from __future__ import annotations

import inspect
from typing import Any

from textsiam.errors import ConfigError
from textsiam.losses.base import PairLoss
from textsiam.losses.bce import BCEWithLogitsLoss
from textsiam.losses.chopra_exp import ChopraExpLoss
from textsiam.losses.combined import CombinedLoss
from textsiam.losses.contrastive import ContrastiveLoss
from textsiam.losses.cosent import CoSENTLoss
from textsiam.losses.cosine import CosineSimilarityLoss
from textsiam.losses.multiple_negatives import MultipleNegativesRankingLoss
from textsiam.losses.online_contrastive import OnlineContrastiveLoss
from textsiam.registry import LOSSES


def build_loss(name: str | PairLoss, **kwargs: Any) -> PairLoss:
    """Build the loss registered as ``name`` with keyword arguments (a built loss passes through unchanged).

    Unknown names raise the registry's ``KeyError`` with close matches; unknown keywords raise a ``ConfigError``
    listing the ones the loss accepts.
    """
    if isinstance(name, str) and "+" in name:  # short form of a combined loss: "cosent+multiple-negatives"
        parts = [{"name": part, "args": kwargs.pop(part, {})} for part in name.split("+")]
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


__all__ = [
    "BCEWithLogitsLoss",
    "ChopraExpLoss",
    "CombinedLoss",
    "CoSENTLoss",
    "ContrastiveLoss",
    "CosineSimilarityLoss",
    "MultipleNegativesRankingLoss",
    "OnlineContrastiveLoss",
    "PairLoss",
    "build_loss",
]
