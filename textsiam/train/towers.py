"""Per-tower training options (freeze, learning-rate multiplier) and cached outputs of towers that do not train.

``TrainConfig.towers`` maps a tower name to its options: ``left`` / ``right`` for a pseudo-siamese model, ``encoder``
for a twin, e.g. ``{"left": {"lr_multiplier": 50}, "right": {"freeze": true}}`` trains an LSTM title tower at
50 x the base rate beside a frozen transformer body tower. Projections and heads train at the base rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from textsiam.errors import ConfigError
from textsiam.models.base import PairModel, to_device
from textsiam.models.cache import TowerCache, tower_is_static


def tower_modules(model: PairModel) -> dict[str, torch.nn.Module]:
    """The towers by the name ``TrainConfig.towers`` uses: ``encoder`` (twin) or ``left`` and ``right``."""
    return {"encoder": model.left} if model.left is model.right else {"left": model.left, "right": model.right}


def apply_freeze(model: PairModel, towers: dict[str, dict[str, Any]]) -> None:
    modules = tower_modules(model)
    unknown = sorted(set(towers) - set(modules))
    if unknown:
        raise ConfigError(f"TrainConfig.towers names {unknown}, but this model's towers are {sorted(modules)}")
    for name, opts in towers.items():
        if opts.get("freeze"):
            modules[name].requires_grad_(False)


def param_groups(model: PairModel, lr: float, weight_decay: float, towers: dict[str, dict[str, Any]]) -> list[dict]:
    """AdamW groups: per tower (its lr multiplier) and the rest, each split into decayed / not decayed tensors."""
    owner = {id(p): name for name, m in tower_modules(model).items() for p in m.parameters()}
    groups: dict[tuple[str, bool], list[torch.nn.Parameter]] = {}
    for pname, p in model.named_parameters():
        if p.requires_grad:
            decay = not (p.ndim < 2 or "LayerNorm" in pname or "norm" in pname.lower())
            groups.setdefault((owner.get(id(p), ""), decay), []).append(p)
    return [
        {
            "params": params,
            "lr": lr * float(towers.get(tower, {}).get("lr_multiplier", 1.0)),
            "weight_decay": weight_decay if decay else 0.0,
        }
        for (tower, decay), params in groups.items()
    ]


class SideEmbedder:
    """Embeds one training batch side; a tower that does not train is run once per distinct text (cached)."""

    def __init__(
        self,
        model: PairModel,
        device: torch.device,
        sample: Sequence[Any],
        net: torch.nn.Module | None = None,
        cache: bool = True,
    ) -> None:
        """``net``: the module whose forward embeds both sides when nothing is cached (the model wrapped for
        data-parallel training; default the model); ``cache=False`` runs every tower every step."""
        self.model, self.device, self.net = model, device, net if net is not None else model
        texts = cache and bool(sample) and isinstance(sample[0], str)
        self.caches = {
            side: TowerCache(self._computer(side))
            for side in ("left", "right")
            if texts and tower_is_static(model.tower(side))
        }

    def _computer(self, side: str):
        tower = self.model.tower(side)

        def compute(texts: list[str]) -> torch.Tensor:
            tower.eval()
            return tower(to_device(tower.collate(texts), self.device))

        return compute

    def static_towers_to_eval(self) -> None:
        """Towers that do not train run without dropout (call after ``model.train()``)."""
        for side in self.caches:
            self.model.tower(side).eval()

    def dev_outputs(self, a: Sequence[Any], b: Sequence[Any], batch_size: int) -> torch.Tensor:
        """``model.pair_outputs`` on dev pairs (scores, or a multi-class head's logits), with the static towers'
        outputs taken from the cache."""
        model = self.model
        if not self.caches:
            return model.pair_outputs(a, b, batch_size)
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            outputs = [
                model.compare(*self(a[i : i + batch_size], b[i : i + batch_size])).float().cpu()
                for i in range(0, len(a), batch_size)
            ]
        model.train(was_training)
        self.static_towers_to_eval()
        return torch.cat(outputs)

    def __call__(self, a: Sequence[Any], b: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.model
        if not self.caches:  # the model's own forward (a twin runs both sides in one pass)
            fa = to_device(model.left.collate(a), self.device)
            fb = to_device(model.right.collate(b), self.device)
            return self.net(fa, fb)
        return self._side(a, "left"), self._side(b, "right")

    def _side(self, items: Sequence[Any], side: str) -> torch.Tensor:
        if side in self.caches:
            return self.model.project(self.caches[side].get(items, self.device), side)
        return self.model.embed(to_device(self.model.tower(side).collate(items), self.device), side)
