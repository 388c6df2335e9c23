"""Twin (siamese) model: one encoder with shared weights maps both inputs into one space."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from textsiam.encoders.base import Encoder
from textsiam.models.base import PairModel
from textsiam.params import POSITIVE_INT, Optional
from textsiam.registry import PAIR_MODELS


@PAIR_MODELS.register("twin")
class TwinModel(PairModel):
    """Siamese twin: one shared encoder (+ optional linear projection), compared by a similarity or a learned head."""

    tower_keys = ("encoder",)
    config_keys = ("similarity", "head", "projection_dim")
    params = PairModel.params | {"projection_dim": Optional(POSITIVE_INT)}  # null: the encoder's own dimension

    def __init__(
        self,
        encoder: Encoder,
        similarity: str = "cosine",
        head: dict[str, Any] | None = None,
        projection_dim: int | None = None,
    ) -> None:
        super().__init__(similarity=similarity, head=head)
        self.encoder = encoder
        self.projection_dim = self.check_params(projection_dim=projection_dim)["projection_dim"]
        self.projection = nn.Linear(encoder.dim, projection_dim) if projection_dim else None
        self._build_head(self.embedding_dim)

    left = right = property(lambda self: self.encoder, doc="The shared encoder: the same module on both sides.")

    @property
    def embedding_dim(self) -> int:
        return self.projection_dim or self.encoder.dim

    def project(self, x: torch.Tensor, side: str = "left") -> torch.Tensor:
        # x: (batch, enc_dim) from the one shared encoder, for either side
        return self.projection(x) if self.projection is not None else x

    def projection_of(self, side: str = "left") -> nn.Linear | None:
        return self.projection  # one for both sides

    def forward(self, feats_a: dict[str, torch.Tensor], feats_b: dict[str, torch.Tensor]):
        """Both sides in one pass through the shared encoder: one larger batch instead of two small ones."""
        n = self.encoder.count(feats_a)
        both = self.embed(self.encoder.merge(feats_a, feats_b))  # (2 * batch, dim)
        return both[:n], both[n:]
