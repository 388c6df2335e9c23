"""Pseudo-siamese model: two different towers, each projected into one shared space.

For inputs that differ in kind or length: an LSTM over a short title and a transformer over a long body, or an
image CNN and a text encoder for a caption. Each tower keeps its own weights; linear projections bring both to
``projection_dim`` so any similarity or learned head can compare them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from textsiam.encoders.base import Encoder
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel
from textsiam.params import POSITIVE_INT
from textsiam.registry import PAIR_MODELS


@PAIR_MODELS.register("pseudo")
class PseudoSiameseModel(PairModel):
    """Pseudo-siamese: two different towers (left, right) + a linear projection each into one shared space."""

    tower_keys = ("left", "right")
    config_keys = ("projection_dim", "similarity", "head")
    params = PairModel.params | {"projection_dim": POSITIVE_INT}

    def __init__(
        self,
        left: Encoder,
        right: Encoder,
        projection_dim: int = 256,
        similarity: str = "cosine",
        head: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(similarity=similarity, head=head)
        if left is right:
            raise ConfigError("pseudo-siamese towers must be two different modules; use the 'twin' model to share one")
        self.left_encoder, self.right_encoder = left, right
        self.projection_dim = self.check_params(projection_dim=projection_dim)["projection_dim"]
        self.left_projection = nn.Linear(left.dim, projection_dim)
        self.right_projection = nn.Linear(right.dim, projection_dim)
        self._build_head(projection_dim)

    left = property(lambda self: self.left_encoder, doc="The tower of the left items.")
    right = property(lambda self: self.right_encoder, doc="The tower of the right items.")

    @property
    def embedding_dim(self) -> int:
        return self.projection_dim

    def project(self, x: torch.Tensor, side: str = "left") -> torch.Tensor:
        # x: (batch, tower_dim) of the side's own tower -> (batch, projection_dim)
        return self.left_projection(x) if side == "left" else self.right_projection(x)

    def projection_of(self, side: str = "left") -> nn.Linear:
        return self.left_projection if side == "left" else self.right_projection
