"""A small convolutional tower for small greyscale images (MNIST's 28 x 28)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.encoders.base import Encoder
from textsiam.encoders.preprocess import ImagePreprocess
from textsiam.errors import ConfigError
from textsiam.params import POSITIVE_INT, PROBABILITY, Bool, ListOf, Optional
from textsiam.registry import ENCODERS


@ENCODERS.register("cnn")
class CnnEncoder(Encoder):
    """Small CNN: per stage conv 3x3 (+ BatchNorm) + ReLU + 2x2 max pooling, then (dropout,) an optional Dense
    ``fc_hidden`` + ReLU layer and Dense ``hidden`` (the embedding).

    With the defaults (stages of 16 and 32 channels, 28 x 28 input) it has about 0.2 M parameters. ``image`` is
    the :class:`ImagePreprocess` config (saved with the model), so image files are scored as in training.
    ``batch_norm`` (default True, as models saved before the option had it) hurts a twin trained with the
    contrastive loss: on 9000 MNIST images, one epoch reaches test pair ROC AUC 0.78 with it and 0.98 without
    (docs/benchmarks.md), so the ``mnist-cnn-twin`` preset turns it off.
    """

    modality = "image"
    params = {  # and the input size >= 2 ** stages (one 2x2 max pooling per stage), checked with the image config
        "input_size": POSITIVE_INT,
        "channels": ListOf(POSITIVE_INT),
        "hidden": POSITIVE_INT,
        "dropout": PROBABILITY,
        "batch_norm": Bool(),
        "fc_hidden": Optional(POSITIVE_INT),
    }

    def __init__(
        self,
        input_size: int = 28,
        channels: Sequence[int] = (16, 32),
        hidden: int = 128,
        dropout: float = 0.1,
        image: dict[str, Any] | None = None,
        batch_norm: bool = True,
        fc_hidden: int | None = None,
    ) -> None:
        super().__init__()
        self.check_params(
            input_size=input_size,
            channels=channels,
            hidden=hidden,
            dropout=dropout,
            batch_norm=batch_norm,
            fc_hidden=fc_hidden,
        )
        self.preprocess = ImagePreprocess.from_config(image)
        size = self.preprocess.size or input_size
        if size < 2 ** len(channels):
            raise ConfigError(
                f"cnn encoder: an input size of {size} is too small for {len(channels)} stages of 2x2 pooling; "
                f"use images of at least {2 ** len(channels)} pixels or fewer channels"
            )
        self.input_size, self.channels, self.hidden, self.dropout = size, [int(c) for c in channels], hidden, dropout
        self.batch_norm, self.fc_hidden = bool(batch_norm), fc_hidden
        layers: list[nn.Module] = []
        width = self.preprocess.channels
        for out in self.channels:
            norm = [nn.BatchNorm2d(out)] if self.batch_norm else []
            layers += [nn.Conv2d(width, out, 3, padding=1), *norm, nn.ReLU(), nn.MaxPool2d(2)]
            width = out
        width *= (size // 2 ** len(self.channels)) ** 2
        layers += [nn.Flatten(), nn.Dropout(dropout)]
        if fc_hidden:
            layers += [nn.Linear(width, fc_hidden), nn.ReLU()]
            width = fc_hidden
        layers.append(nn.Linear(width, hidden))
        self.net = nn.Sequential(*layers)
        self._rng = np.random.default_rng(0)

    @property
    def dim(self) -> int:
        return self.hidden

    def collate(self, items: Sequence[Any]) -> dict[str, torch.Tensor]:
        x = self.preprocess.batch(items, train=self.training, rng=self._rng)  # (batch, C, H, W)
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(
                f"cnn encoder expects {self.input_size}x{self.input_size} images, got {tuple(x.shape[-2:])}; "
                f"set image size={self.input_size} in its preprocessing config to resize"
            )
        return {"pixels": x}

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(features["pixels"])  # (batch, hidden)

    def get_config(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "channels": self.channels,
            "hidden": self.hidden,
            "dropout": self.dropout,
            "image": self.preprocess.to_config(),
            "batch_norm": self.batch_norm,
            "fc_hidden": self.fc_hidden,
        }
