"""Fine-tune only the top layers of a transformer tower; a fully frozen tower caches its outputs per text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from textsiam.errors import ConfigError


def freeze_transformer(transformer: torch.nn.Module, trainable_layers: int) -> None:
    """Train only the top ``trainable_layers`` transformer layers (0: frozen); the embeddings stay frozen."""
    layers = getattr(getattr(transformer, "encoder", None), "layer", None)
    n = len(layers) if layers is not None else None
    if n is None or isinstance(trainable_layers, bool) or not isinstance(trainable_layers, int):
        raise ConfigError(f"trainable_layers must be an integer in 0..{n or '?'} for this transformer")
    if not 0 <= trainable_layers <= n:
        raise ConfigError(f"trainable_layers must be an integer in 0..{n} for this transformer, got {trainable_layers}")
    for p in transformer.parameters():
        p.requires_grad_(False)
    for layer in list(layers)[n - trainable_layers :]:
        for p in layer.parameters():
            p.requires_grad_(True)


class OutputCache:
    """Outputs of a frozen tower per raw item: computed once (in eval mode, without gradients), then looked up.

    Exact: a frozen tower is deterministic in eval mode, so a cached output equals a recomputed one.
    """

    def __init__(self) -> None:
        self.store: dict[str, torch.Tensor] = {}

    def lookup(self, items: Sequence[str], compute: Callable[[list[str]], torch.Tensor]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(items) if t not in self.store]
        if missing:
            with torch.no_grad():
                self.store.update(zip(missing, compute(missing).cpu()))
        return torch.stack([self.store[t] for t in items])  # (batch, dim)
