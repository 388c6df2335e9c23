"""Training items prepared once for many batches.

``Encoder.prepare(items)`` runs before the first epoch. The default keeps the raw items and collates each batch
when it is drawn; a transformer text tower returns a :class:`TokenTable` instead: every distinct text is tokenized
once (in chunks, one tokenizer call per chunk), the token ids are kept flat, and each batch only gathers its rows
and pads them to their longest, with no tokenizer call per step. The table's ``lengths`` are token counts, so the
trainer groups batches by what padding actually costs rather than by characters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

Tokenize = Callable[[list[str]], dict[str, torch.Tensor]]
"""Texts -> right-padded ``(n, width)`` tensors with an ``attention_mask``, as the tower's own collate makes them."""


class Prepared:
    """The raw items of one side; ``features(rows)`` collates those rows with the tower's ``collate``."""

    def __init__(self, encoder: Any, items: Sequence[Any]) -> None:
        self.encoder, self.items = encoder, items
        self._lengths: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> np.ndarray:
        """``(n,)`` cost of each item for length-grouped batches (the tower's ``item_length``)."""
        if self._lengths is None:
            self._lengths = np.fromiter((self.encoder.item_length(x) for x in self.items), np.int64, len(self.items))
        return self._lengths

    def take(self, rows: Sequence[int]) -> list[Any]:
        return [self.items[i] for i in rows]

    def features(self, rows: Sequence[int]) -> dict[str, torch.Tensor]:
        return self.encoder.collate(self.take(rows))


class TokenTable(Prepared):
    """Token ids of every item, each distinct text tokenized once and stored flat (int32) with offsets.

    ``features(rows)`` equals ``tokenize([items[i] for i in rows])``: the rows right-padded to their longest, with
    ``pad_values[key]`` (0 for keys not named) and an ``attention_mask`` of ones over the tokens.
    """

    def __init__(
        self, items: Sequence[str], tokenize: Tokenize, pad_values: dict[str, int], chunk_size: int = 4096
    ) -> None:
        super().__init__(None, items)
        distinct, inverse = np.unique(np.asarray(items, dtype=object), return_inverse=True)
        self._inverse = inverse.reshape(-1).astype(np.int64)  # item -> distinct text
        self.pad_values = pad_values
        flat: dict[str, list[np.ndarray]] = {}
        counts = []
        for start in range(0, len(distinct), chunk_size):
            feats = tokenize([str(t) for t in distinct[start : start + chunk_size]])
            mask = feats.pop("attention_mask").bool()  # (chunk, width), ones first: right padding
            counts.append(mask.sum(1).numpy())
            for key, value in feats.items():  # row-major: each row's tokens, rows one after another
                flat.setdefault(key, []).append(value[mask].numpy().astype(np.int32))
        self._counts = np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, np.int64)  # per distinct
        self._offsets = np.concatenate([[0], np.cumsum(self._counts)[:-1]]).astype(np.int64)
        # one spare slot at the end: a row of 0 tokens still has an in-range gather index
        self._flat = {key: np.concatenate([*parts, np.zeros(1, np.int32)]) for key, parts in flat.items()}
        self._lengths = self._counts[self._inverse]

    @property
    def tokens(self) -> int:
        """Tokens stored (distinct texts only)."""
        return int(self._counts.sum())

    def features(self, rows: Sequence[int]) -> dict[str, torch.Tensor]:
        d = self._inverse[np.asarray(rows, dtype=np.int64)]
        lens = self._counts[d]  # (batch,)
        pos = np.arange(int(lens.max()))  # (width,)
        valid = pos[None, :] < lens[:, None]  # (batch, width)
        at = self._offsets[d][:, None] + np.minimum(pos[None, :], np.maximum(lens[:, None] - 1, 0))
        out = {
            key: torch.from_numpy(np.where(valid, flat[at], self.pad_values.get(key, 0)).astype(np.int64))
            for key, flat in self._flat.items()
        }
        out["attention_mask"] = torch.from_numpy(valid.astype(np.int64))
        return out
