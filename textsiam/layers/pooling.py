"""Poolers: token embeddings (batch, seq, dim) + attention mask (batch, seq) -> one vector per input (batch, dim)."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from textsiam.params import Constraint
from textsiam.registry import POOLERS


class Pooler(nn.Module):
    """Base class: ``forward(tokens, mask)`` -> ``(batch, dim)``; padded positions (mask 0) never change the result."""

    params: ClassVar[dict[str, Constraint]] = {}  # the poolers take no arguments

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}


@POOLERS.register("mean")
class MeanPooler(Pooler):
    """Average of the token vectors, padding excluded (the sentence-transformers default)."""

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(tokens.dtype)  # (batch, seq, 1)
        return (tokens * m).sum(1) / m.sum(1).clamp(min=1e-9)


@POOLERS.register("cls")
class ClsPooler(Pooler):
    """The first token's vector ([CLS] for BERT-like models)."""

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return tokens[:, 0]


@POOLERS.register("max")
class MaxPooler(Pooler):
    """Element-wise maximum over the token vectors, padding excluded."""

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        filled = tokens.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(tokens.dtype).min)
        return filled.max(1).values
