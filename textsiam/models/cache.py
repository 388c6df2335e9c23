"""Encode each distinct text once: de-duplication for evaluation and a tower-output cache for frozen towers.

FNC-1 pairs 1,683 bodies with 49,972 headlines; scoring its pairs naively runs every body through the tower ~30
times. :func:`unique_items` maps a list of texts to its distinct texts plus an index back, so ``PairModel.encode``
and ``similarity_scores`` (and with them ``evaluate``, ``score`` and ``tune-threshold``) encode each text once.
:class:`TowerCache` keeps the outputs of a tower that does not train (frozen, or without parameters such as tf-idf)
across training steps, keyed by text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


class TowerCache:
    """Outputs of one static tower, keyed by text, computed in eval mode (no dropout) and kept on CPU.

    ``compute`` maps a list of texts to a ``(n, dim)`` tensor of tower outputs (before any projection).
    """

    def __init__(self, compute: Callable[[list[str]], torch.Tensor], batch_size: int = 64) -> None:
        self.compute, self.batch_size = compute, batch_size
        self._rows: dict[str, int] = {}
        self._table: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, texts: Sequence[str], device: torch.device | None = None) -> torch.Tensor:
        """Tower outputs ``(len(texts), dim)`` for ``texts``, computing only the ones not seen before."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._rows]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            with torch.no_grad():
                out = self.compute(chunk).detach().float().cpu()  # (chunk, dim)
            for text, row in zip(chunk, out):
                self._rows[text] = len(self._table)
                self._table.append(row)
        rows = torch.stack([self._table[self._rows[t]] for t in texts])  # (batch, dim)
        return rows.to(device) if device is not None else rows
