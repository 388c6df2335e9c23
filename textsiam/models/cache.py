"""Encode each distinct text once: de-duplication for evaluation, and which towers' outputs can be cached.

FNC-1 pairs 1,683 bodies with 49,972 headlines; scoring its pairs naively runs every body through the tower ~30
times. :func:`unique_items` maps a list of texts to its distinct texts plus an index back, so ``PairModel.encode``
and ``similarity_scores`` (and with them ``evaluate``, ``score`` and ``tune-threshold``) encode each text once.
The outputs of a tower that does not train (frozen, or without parameters such as tf-idf) are kept across training
steps by one :class:`textsiam.encoders.freezing.OutputCache` per tower (``textsiam/train/towers.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def unique_items(items: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """``(distinct, inverse)`` with ``items[i] == distinct[inverse[i]]``; only strings are de-duplicated.

    Non-text items (image arrays) are not hashable by value, so each stays its own entry.
    """
    if not items or not all(isinstance(x, str) for x in items):
        return list(items), np.arange(len(items), dtype=np.int64)
    index: dict[str, int] = {}
    inverse = np.fromiter((index.setdefault(x, len(index)) for x in items), dtype=np.int64, count=len(items))
    return list(index), inverse


def tower_is_static(tower: torch.nn.Module) -> bool:
    """True when no parameter of ``tower`` trains (frozen, or none at all): its outputs can be cached by text."""
    return not any(p.requires_grad for p in tower.parameters())
