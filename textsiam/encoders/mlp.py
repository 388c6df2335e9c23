"""The seed document's base network as an image/vector tower."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.encoders.base import Encoder
from textsiam.encoders.preprocess import ImagePreprocess
from textsiam.errors import DataError
from textsiam.params import POSITIVE_INT, PROBABILITY
from textsiam.registry import ENCODERS


@ENCODERS.register("mlp")
class MlpEncoder(Encoder):
    """The seed's base network: flatten, then 3 x (Dense 128 + ReLU) with Dropout 0.1 between them.

    Takes images (any shape, flattened) or plain vectors, e.g. sklearn's 8x8 digits scaled to [0, 1]. With an
    ``image`` preprocessing config (saved with the model) it also takes image references (files, MNIST IDX items),
    decoded and scaled by it (default: greyscale, pixel values / 255).
    """

    modality = "image"
    params = {"in_features": POSITIVE_INT, "hidden": POSITIVE_INT, "n_layers": POSITIVE_INT, "dropout": PROBABILITY}

    def __init__(
        self,
        in_features: int = 64,
        hidden: int = 128,
        n_layers: int = 3,
        dropout: float = 0.1,
        image: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.image = image
        self.preprocess = ImagePreprocess.from_config(image)
        checked = self.check_params(in_features=in_features, hidden=hidden, n_layers=n_layers, dropout=dropout)
        dropout = checked["dropout"]
        self.in_features, self.hidden, self.n_layers, self.dropout = in_features, hidden, n_layers, dropout
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for i in range(n_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if i < n_layers - 1:
                layers.append(nn.Dropout(dropout))
            width = hidden
        self.net = nn.Sequential(*layers)

    @property
    def dim(self) -> int:
        return self.hidden

    def check_items(self, items: Sequence[Any]) -> None:
        for i, item in enumerate(items):
            if self.image is not None and isinstance(item, str):
                continue  # an image reference, decoded by the preprocessing
            if item is None or isinstance(item, str | bytes | dict):
                raise DataError(
                    f"item {i} is a {type(item).__name__} ({str(item)[:40]!r}); this tower takes images or numeric "
                    f"vectors of {self.in_features} values. For text pairs use a text tower "
                    "(e.g. the minilm-twin preset or an hf-transformer encoder)"
                )

    def collate(self, items: Sequence[Any]) -> dict[str, torch.Tensor]:
        self.check_items(items)
        if len(items) and isinstance(items[0], str):
            x = self.preprocess.batch(items, train=self.training).reshape(len(items), -1)
            if x.shape[1] != self.in_features:
                raise DataError(f"mlp encoder expects {self.in_features} values per image, got {x.shape[1]}")
            return {"pixels": x}
        try:
            x = torch.as_tensor(np.asarray(items, dtype=np.float32))
        except (ValueError, TypeError) as err:
            raise DataError(
                f"items are not numeric arrays of one shape ({err}); this tower takes images or vectors of "
                f"{self.in_features} values"
            ) from None
        x = x.reshape(len(items), -1)  # (batch, in_features)
        if x.shape[1] != self.in_features:
            shape = np.asarray(items[0]).shape
            raise DataError(
                f"mlp encoder expects inputs of {self.in_features} values, got items of shape {shape} "
                f"({math.prod(shape)} values); set in_features={math.prod(shape)}"
            )
        return {"pixels": x}

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(features["pixels"])  # (batch, hidden)

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "hidden": self.hidden,
            "n_layers": self.n_layers,
            "dropout": self.dropout,
            **({"image": self.preprocess.to_config()} if self.image is not None else {}),
        }
