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
    """Outputs of a tower that does not train, per text: each computed once (in eval mode, without gradients, in
    batches of ``batch_size``), kept on the CPU, then looked up.

    Exact: a frozen tower is deterministic in eval mode, so a cached output equals a recomputed one. One cache per
    tower and run: a frozen transformer tower owns one (``HfTextEncoder.output_cache``, used by its ``collate``) and
    the trainer looks up that same object for its training steps and dev scoring (``textsiam/train/towers.py``),
    making one only for static towers without their own. ``compute`` maps texts to ``(n, dim)`` tower outputs.
    """

    def __init__(self, compute: Callable[[list[str]], torch.Tensor], batch_size: int = 64) -> None:
        self.compute, self.batch_size = compute, batch_size
        self.store: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.store)

    def get(self, texts: Sequence[str], device: torch.device | None = None) -> torch.Tensor:
        """Tower outputs ``(len(texts), dim)`` in input order, computing only the texts not seen before."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.store]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            with torch.no_grad():
                self.store.update(zip(chunk, self.compute(chunk).detach().float().cpu()))  # (chunk, dim)
        rows = torch.stack([self.store[t] for t in texts])  # (batch, dim)
        return rows.to(device) if device is not None else rows
