"""Inputs longer than a transformer's ``max_length``: cut them (``truncate``) or read them in windows (``chunk``).

``truncate`` keeps the first ``max_length`` tokens and warns once, saying how many inputs of the batch were cut.
``chunk`` splits each input into overlapping windows of ``max_length`` tokens (``chunk_overlap`` tokens shared by
neighbours, at most ``max_chunks`` windows), embeds every window and pools the windows of an input by mean or max.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from textsiam.errors import ConfigError
from textsiam.params import POSITIVE_INT, Choice, Interval, Optional

CHUNK_OWNER = "chunk_owner"
"""Feature key of a chunked batch: ``(windows,)`` index of the input each window belongs to."""
MODES = ("truncate", "chunk")
PARAMS = {
    "long_text": Choice(*MODES),
    "chunk_overlap": Interval(int, 0),  # and < max_length / 2, checked with the window's length
    "chunk_pooling": Choice("mean", "max"),
    "max_chunks": Optional(POSITIVE_INT),  # null: no limit
}
"""The text towers' constructor keywords of the long-text policy (declared with the tower's own)."""


class LongText:
    """The ``long_text`` policy of one text tower (tokenisation side and window pooling); the tower has checked
    each keyword against :data:`PARAMS`, this checks the overlap against the window."""

    def __init__(self, mode: str, overlap: int, pooling: str, max_chunks: int | None, max_length: int) -> None:
        if mode == "chunk" and not 0 <= overlap < max_length // 2:
            raise ConfigError(f"chunk_overlap must be in [0, max_length / 2) = [0, {max_length // 2}), got {overlap}")
        self.mode, self.overlap, self.pooling, self.max_chunks = mode, overlap, pooling, max_chunks
        self.max_length = max_length
        self.inputs_cut = 0  # running count of inputs truncated (truncate mode)
        self._warned = False

    def get_config(self) -> dict[str, Any]:
        return {
            "long_text": self.mode,
            "chunk_overlap": self.overlap,
            "chunk_pooling": self.pooling,
            "max_chunks": self.max_chunks,
        }

    def tokenize(self, tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
        if not tokenizer.is_fast:
            raise ConfigError("long_text needs a fast (Rust) tokenizer to split inputs into windows")
        enc = tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            stride=self.overlap if self.mode == "chunk" else 0,
            return_overflowing_tokens=True,
            padding=True,
            return_tensors="pt",
            padding_side="right",  # the width cut below and HfTextEncoder.batches keep the leading columns
        )
        owner = enc.pop("overflow_to_sample_mapping")  # (windows,), ascending
        first = torch.ones_like(owner, dtype=torch.bool)
        first[1:] = owner[1:] != owner[:-1]
        if self.mode == "truncate":
            self._note_cut(int(owner[~first].unique().numel()), len(texts))
            keep = first
        else:
            rank = torch.arange(len(owner)) - torch.cummax(torch.where(first, torch.arange(len(owner)), 0), 0).values
            keep = rank < self.max_chunks if self.max_chunks else torch.ones_like(first)
        out = {k: v[keep] for k, v in enc.items()}
        width = int(out["attention_mask"].sum(1).max())  # drop columns that are padding in every kept row
        out = {k: v[:, :width] for k, v in out.items()}
        if self.mode == "chunk":
            out[CHUNK_OWNER] = owner[keep]
        return out

    def _note_cut(self, cut: int, n: int) -> None:
        if cut <= 0:
            return
        self.inputs_cut += cut
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"long_text='truncate': {cut} of {n} inputs in this batch were longer than max_length="
                f"{self.max_length} tokens and were cut to their first {self.max_length} tokens; set "
                "long_text='chunk' to read all of them. Warned once per tower; its long_text.inputs_cut keeps "
                "the running count",
                stacklevel=4,
            )

    def pool_windows(self, pooled: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
        """(windows, dim) window vectors -> (inputs, dim) by mean or max over each input's windows."""
        n = int(owner.max()) + 1
        index = owner.to(pooled.device).unsqueeze(-1).expand_as(pooled)
        if self.pooling == "max":
            out = pooled.new_full((n, pooled.shape[1]), torch.finfo(pooled.dtype).min)
            return out.scatter_reduce(0, index, pooled, reduce="amax")
        total = pooled.new_zeros((n, pooled.shape[1])).scatter_add(0, index, pooled)
        counts = torch.bincount(owner.to(pooled.device), minlength=n).clamp(min=1).unsqueeze(-1)
        return total / counts.to(pooled.dtype)
