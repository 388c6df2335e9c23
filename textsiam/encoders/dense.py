"""A sentence-transformers style Dense layer (linear + activation) on pooled sentence vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from textsiam.errors import ConfigError
from textsiam.params import POSITIVE_INT, Bool, Choice, check_params

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
}
DENSE_PARAMS = {
    "in_features": POSITIVE_INT,
    "out_features": POSITIVE_INT,
    "bias": Bool(),
    "activation": Choice(*ACTIVATIONS),
}


class Dense(nn.Module):
    """``activation(linear(x))``; parameter names (``linear.weight``, ``linear.bias``) match sentence-transformers."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "tanh") -> None:
        super().__init__()
        self.spec = {"in_features": in_features, "out_features": out_features, "bias": bias, "activation": activation}
        check_params("dense layer", self.spec, DENSE_PARAMS)
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, in) -> (batch, out)
        return self.activation(self.linear(x))


def build_dense_stack(specs: Any, in_dim: int) -> nn.ModuleList:
    """Dense layers from their specs, checking that each one's input size is the previous one's output size."""
    if not isinstance(specs, list | tuple) or not all(isinstance(s, dict) for s in specs):
        raise ConfigError(f"hf-transformer encoder: dense must be a list of layer specs, got {specs!r}")
    layers = nn.ModuleList()
    for i, spec in enumerate(specs):
        try:
            layer = Dense(**spec)
        except TypeError as err:
            raise ConfigError(f"hf-transformer encoder: dense layer {i} {spec!r}: {err}") from None
        if layer.linear.in_features != in_dim:
            raise ConfigError(
                f"hf-transformer encoder: dense layer {i} takes {layer.linear.in_features} features, "
                f"but the layer before gives {in_dim}"
            )
        layers.append(layer)
        in_dim = layer.linear.out_features
    return layers


def load_dense_weights(layers: torch.nn.ModuleList, files: list[Path]) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    for layer, path in zip(layers, files):
        try:
            load_model(layer, str(path))
        except (SafetensorError, RuntimeError, OSError) as err:  # damaged, or weights of other shapes
            raise ConfigError(
                f"{path}: cannot load these Dense weights ({str(err)[:200]}); re-download the model"
            ) from None
