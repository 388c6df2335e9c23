"""Feature mappings over a pair of embeddings and learned heads that score them.

The mappings follow the siamese literature: absolute difference |u - v|, squared difference (u - v)^2,
element-wise product u * v and concatenation [u; v]. A head maps the concatenated features to one logit;
higher means more similar, like every similarity in textsiam.
"""

from __future__ import annotations

import torch
from torch import nn

from textsiam.errors import ConfigError
from textsiam.registry import HEADS

FEATURES = {
    "abs-diff": lambda u, v: (u - v).abs(),
    "sq-diff": lambda u, v: (u - v) ** 2,
    "product": lambda u, v: u * v,
    "concat": lambda u, v: torch.cat([u, v], dim=-1),
}
_WIDTH = {"abs-diff": 1, "sq-diff": 1, "product": 1, "concat": 2}


def pair_features(u: torch.Tensor, v: torch.Tensor, features: list[str]) -> torch.Tensor:
    """Concatenate the named feature mappings of ``u`` and ``v``: (batch, dim) x2 -> (batch, k * dim)."""
    return torch.cat([FEATURES[name](u, v) for name in features], dim=-1)


@HEADS.register("mlp-head")
class MlpHead(nn.Module):
    """Learned head: feature mappings (|u-v|, (u-v)^2, u*v, [u;v]) -> MLP -> one logit, higher = more similar."""

    def __init__(self, dim: int, features: list[str] | None = None, hidden: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        features = list(features or ["abs-diff", "product"])
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise ConfigError(f"unknown head feature(s) {unknown}; choose from {sorted(FEATURES)}")
        self.dim, self.features, self.hidden, self.dropout = dim, features, hidden, dropout
        width = dim * sum(_WIDTH[f] for f in features)
        layers: list[nn.Module] = [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)]
        if hidden == 0:
            layers = [nn.Linear(width, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # (batch, dim) x2 -> (batch,)
        return self.net(pair_features(u, v, self.features)).squeeze(-1)

    def get_config(self) -> dict:
        return {"features": self.features, "hidden": self.hidden, "dropout": self.dropout}
