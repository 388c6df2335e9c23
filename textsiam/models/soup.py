"""Weight-space averaging of models that share one architecture.

``interpolate(start, finetuned, alpha)`` is WiSE-FT (Wortsman et al. 2022): the weights
``(1 - alpha) * start + alpha * finetuned``, which often keeps the zero-shot robustness of the pretrained model
while holding most of the fine-tuning gain. ``average(models)`` is a uniform model soup (Wortsman et al. 2022).
Choose ``alpha`` or the soup's members on dev data, never on the test split.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from textsiam.errors import ConfigError
from textsiam.models.base import PairModel


def average(models: Sequence[PairModel], weights: Sequence[float] | None = None) -> PairModel:
    """A new model whose floating-point weights are the weighted mean of ``models``' (weights sum to 1)."""
    if not models:
        raise ConfigError("average() needs at least one model")
    weights = [1.0 / len(models)] * len(models) if weights is None else [float(w) for w in weights]
    if len(weights) != len(models) or abs(sum(weights) - 1.0) > 1e-6:
        raise ConfigError(f"need one weight per model summing to 1, got {weights} for {len(models)} models")
    config = models[0].get_config()
    for i, m in enumerate(models[1:], start=2):
        if m.get_config() != config:
            raise ConfigError(f"model {i} has another architecture/config than model 1; only equal configs average")
    states = [m.state_dict() for m in models]
    merged = {}
    for key, first in states[0].items():
        if torch.is_floating_point(first):
            merged[key] = sum(w * s[key].to(torch.float32) for w, s in zip(weights, states)).to(first.dtype)
        else:
            merged[key] = first.clone()
    out = copy.deepcopy(models[0])
    out.load_state_dict(merged)
    out.decision = None  # a threshold tuned for one model does not carry over to another
    return out


def interpolate(start: PairModel, finetuned: PairModel, alpha: float) -> PairModel:
    """WiSE-FT: ``(1 - alpha) * start + alpha * finetuned`` (alpha 0 = start, 1 = finetuned)."""
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}")
    return average([start, finetuned], [1.0 - alpha, alpha])
