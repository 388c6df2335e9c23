"""Feature mappings over a pair of embeddings and learned heads that score them.

The mappings follow the siamese literature: absolute difference |u - v|, squared difference (u - v)^2,
element-wise product u * v and concatenation [u; v]; ``cosine`` adds the one column cos(u, v) (the tf-idf cosine
beside the two term vectors of Riedel et al. 2017's FNC-1 MLP). A head maps the concatenated features to one logit;
higher means more similar, like every similarity in textsiam.
"""

from __future__ import annotations

import torch
from torch import nn

from textsiam.errors import ConfigError
from textsiam.params import Choice, Interval, ListOf, Optional, Text, check_params
from textsiam.registry import HEADS

FEATURES = {
    "abs-diff": lambda u, v: (u - v).abs(),
    "sq-diff": lambda u, v: (u - v) ** 2,
    "product": lambda u, v: u * v,
    "concat": lambda u, v: torch.cat([u, v], dim=-1),
    "cosine": lambda u, v: torch.nn.functional.cosine_similarity(u, v, dim=-1, eps=1e-8).unsqueeze(-1),
}
_WIDTH = {"abs-diff": 1, "sq-diff": 1, "product": 1, "concat": 2}
HEAD_PARAMS = {
    "dim": Interval(int, 1),
    "features": Optional(ListOf(Choice(*FEATURES))),
    "hidden": Interval(int, 0),  # 0: one linear layer, no hidden layer
    "dropout": Interval(float, 0, 1, closed="left"),
}
"""Width of each mapping in multiples of ``dim``; ``cosine`` is one column (:func:`features_width`)."""


def negative_log_odds(logits: torch.Tensor, k: int) -> torch.Tensor:
    """``(batch, classes)`` logits (or log-probabilities) -> ``(batch,)`` log-odds of "not class ``k``" (the no-match
    class): ``logsumexp`` of the other columns minus column ``k``; higher = more of a match."""
    others = torch.cat([logits[:, :k], logits[:, k + 1 :]], dim=-1)
    return torch.logsumexp(others, dim=-1) - logits[:, k]


def features_width(dim: int, features: list[str]) -> int:
    """Columns of :func:`pair_features` for ``dim``-wide embeddings."""
    return sum(dim * _WIDTH[f] if f in _WIDTH else 1 for f in features)


def pair_features(u: torch.Tensor, v: torch.Tensor, features: list[str]) -> torch.Tensor:
    """Concatenate the named feature mappings of ``u`` and ``v``: (batch, dim) x2 -> (batch, k * dim)."""
    return torch.cat([FEATURES[name](u, v) for name in features], dim=-1)


def mlp_layers(width: int, hidden: int, dropout: float, out: int) -> list[nn.Module]:
    """A head's layers: ``width`` -> ``hidden`` (ReLU, dropout) -> ``out``; ``hidden`` 0: one Linear, and the hidden
    layers are not built at all (an empty ``Linear(width, 0)`` makes torch warn on every load of the model)."""
    if not hidden:
        return [nn.Linear(width, out)]
    return [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out)]


@HEADS.register("mlp-head")
class MlpHead(nn.Module):
    """Learned head: feature mappings (|u-v|, (u-v)^2, u*v, [u;v]) -> MLP -> one logit, higher = more similar."""

    params = HEAD_PARAMS

    def __init__(self, dim: int, features: list[str] | None = None, hidden: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        values = {"dim": dim, "features": features, "hidden": hidden, "dropout": dropout}
        check_params("head 'mlp-head'", values, self.params)
        features = list(features or ["abs-diff", "product"])
        self.dim, self.features, self.hidden, self.dropout = dim, features, hidden, dropout
        width = features_width(dim, features)
        self.net = nn.Sequential(*mlp_layers(width, hidden, dropout, 1))

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # (batch, dim) x2 -> (batch,)
        return self.net(pair_features(u, v, self.features)).squeeze(-1)

    def get_config(self) -> dict:
        return {"features": self.features, "hidden": self.hidden, "dropout": self.dropout}


@HEADS.register("pair-classifier")
class PairClassifierHead(nn.Module):
    """Multi-class head: [u; v; |u-v|; u*v] -> MLP -> one logit per class (trained with cross-entropy).

    ``classes`` are the class names, stored with the model; ``negative`` names the class that means "no match"
    (e.g. FNC-1 ``unrelated``), so the head also yields a binary score: log P(not negative) - log P(negative).
    """

    params = HEAD_PARAMS | {"classes": ListOf(Text(), min_len=2, unique=True), "negative": Optional(Text())}

    def __init__(
        self,
        dim: int,
        classes: list[str],
        negative: str | None = None,
        features: list[str] | None = None,
        hidden: int = 256,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        values = {"dim": dim, "classes": classes, "negative": negative, "features": features, "hidden": hidden}
        check_params("head 'pair-classifier'", values | {"dropout": dropout}, self.params)
        if negative is not None and negative not in classes:
            raise ConfigError(
                f"head 'pair-classifier': negative must be one of the classes {list(classes)} or null, got {negative!r}"
            )
        features = list(features or ["concat", "abs-diff", "product"])
        self.dim, self.classes, self.negative = dim, [str(c) for c in classes], negative
        self.features, self.hidden, self.dropout = features, hidden, dropout
        width = features_width(dim, features)
        n = len(self.classes)
        layers = mlp_layers(width, hidden, dropout, n)
        self.net = nn.Sequential(*layers) if hidden else layers[0]  # a lone Linear: saved as net.weight, net.bias

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # (batch, dim) x2 -> (batch, classes)
        return self.net(pair_features(u, v, self.features))

    def binary_score(self, logits: torch.Tensor) -> torch.Tensor:
        """(batch, classes) logits -> (batch,) log-odds of "not the negative class"; higher = more of a match."""
        if self.negative is None:
            raise ValueError(
                f"this pair-classifier has classes {self.classes} but no 'negative' class, so it has no binary "
                "score; set head args negative=<the no-match class>, or use predict_classes()"
            )
        return negative_log_odds(logits, self.classes.index(self.negative))

    def get_config(self) -> dict:
        return {
            "classes": self.classes,
            "negative": self.negative,
            "features": self.features,
            "hidden": self.hidden,
            "dropout": self.dropout,
        }
