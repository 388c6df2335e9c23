"""Per-tower training options (freeze, learning-rate multiplier) and cached outputs of towers that do not train.

``TrainConfig.towers`` maps a tower name to its options: ``left`` / ``right`` for a pseudo-siamese model, ``encoder``
for a twin, e.g. ``{"left": {"lr_multiplier": 50}, "right": {"freeze": true}}`` trains an LSTM title tower at
50 x the base rate beside a frozen transformer body tower. Projections and heads train at the base rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from textsiam.encoders.base import OutputCache, Prepared, normalisation_parameters
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel, to_device
from textsiam.models.cache import tower_is_static


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


def no_decay(model: PairModel) -> set[int]:
    """Ids of the parameters kept out of weight decay: those each tower names (``Encoder.no_weight_decay``) and the
    normalisation layers' outside the towers (projections, heads); 1-d tensors are never decayed either."""
    kept = {id(p) for p in model.parameters() if p.ndim < 2}
    for tower in tower_modules(model).values():
        names = tower.no_weight_decay()
        kept |= {id(p) for name, p in tower.named_parameters() if name in names}
    rest = normalisation_parameters(model)
    return kept | {id(p) for name, p in model.named_parameters() if name in rest}


def param_groups(model: PairModel, lr: float, weight_decay: float, towers: dict[str, dict[str, Any]]) -> list[dict]:
    """AdamW groups: per tower (its lr multiplier) and the rest, each split into decayed / not decayed tensors."""
    owner = {id(p): name for name, m in tower_modules(model).items() for p in m.parameters()}
    kept = no_decay(model)
    groups: dict[tuple[str, bool], list[torch.nn.Parameter]] = {}
    for p in model.parameters():
        if p.requires_grad:
            groups.setdefault((owner.get(id(p), ""), id(p) not in kept), []).append(p)
    return [
        {
            "params": params,
            "lr": lr * float(towers.get(tower, {}).get("lr_multiplier", 1.0)),
            "weight_decay": weight_decay if decay else 0.0,
        }
        for (tower, decay), params in groups.items()
    ]


class SideEmbedder:
    """Embeds one training batch side; a tower that does not train is run once per distinct text (cached).

    One cache per tower: a tower that caches its own outputs (a frozen transformer's ``output_cache``) is looked up
    in that cache, so its training steps, its dev scoring and its ``collate`` share one store; other static text
    towers get an :class:`OutputCache` here (one per tower: a twin's two sides share it)."""

    def __init__(
        self,
        model: PairModel,
        device: torch.device,
        sample: Sequence[Any],
        net: torch.nn.Module | None = None,
        cache: bool = True,
        checkpoint_tokens: int | None = None,
    ) -> None:
        """``net``: the module whose forward embeds both sides when steps do not take cached outputs (the model
        wrapped for data-parallel training; default the model); ``cache=False`` runs every step through ``net``
        (a tower's own cache still serves its ``collate`` there)."""
        self.model, self.device, self.net = model, device, net if net is not None else model
        self.checkpoint_tokens = checkpoint_tokens
        for tower in tower_modules(model).values():  # e.g. frozen parts keep their outputs (close() ends it)
            tower.begin_training()
        texts = cache and bool(sample) and isinstance(sample[0], str)
        self.caches: dict[str, OutputCache] = {}
        for side in ("left", "right"):
            found = self._cache_for(side, texts)
            if found is not None:
                self.caches[side] = found
        self.steps_cached = cache and bool(self.caches)

    def _cache_for(self, side: str, texts: bool) -> OutputCache | None:
        tower = self.model.tower(side)
        if side == "right" and tower is self.model.left:  # a twin: both sides share one cache
            return self.caches.get("left")
        if tower.output_cache is not None:  # the tower caches itself: the trainer uses that same cache
            return tower.output_cache
        return OutputCache(self._computer(side)) if texts and tower_is_static(tower) else None

    def _computer(self, side: str):
        tower = self.model.tower(side)

        def compute(texts: list[str]) -> torch.Tensor:
            tower.eval()
            return tower(to_device(tower.collate(texts), self.device))

        return compute

    def _checkpoint(self, *features: dict[str, torch.Tensor]) -> None:
        """Recompute layer activations in the backward for a step with more than ``checkpoint_tokens`` padded token
        slots (the few batches of the longest texts set the peak memory of a length-grouped epoch)."""
        slots = sum(self.model.tower(side).step_slots(f) for side, f in zip(("left", "right"), features))
        on = self.checkpoint_tokens is not None and slots > self.checkpoint_tokens
        for side in ("left", "right"):
            self.model.tower(side).checkpoint_layers(on)

    def close(self) -> None:
        """End of the run: the towers drop their cached outputs and keep nothing from now on."""
        for tower in tower_modules(self.model).values():
            tower.end_training()
        for cache in self.caches.values():
            cache.store.clear()

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
            u, v = self._dev_side(a, "left", batch_size), self._dev_side(b, "right", batch_size)
            pieces = [(u[i : i + batch_size], v[i : i + batch_size]) for i in range(0, len(a), batch_size)]
            outputs = [model.compare(pu.to(self.device), pv.to(self.device)).float().cpu() for pu, pv in pieces]
        model.train(was_training)
        self.static_towers_to_eval()
        return torch.cat(outputs)

    def _dev_side(self, items: Sequence[Any], side: str, batch_size: int) -> torch.Tensor:
        """Embeddings ``(n, dim)`` on the CPU: from the cache, or ``model.encode`` (each distinct item once)."""
        if side in self.caches:
            return self.model.project(self.caches[side].get(items, self.device), side).float().cpu()
        return self.model.encode(items, side, batch_size)

    def prepare(self, a: Sequence[Any], b: Sequence[Any]) -> tuple[Prepared, Prepared]:
        """Both sides' items made ready once for the epoch's batches (a text tower tokenizes them all now); a side
        whose steps take cached outputs keeps its raw items, which are the cache's keys."""
        return tuple(  # type: ignore[return-value]
            Prepared(self.model.tower(side), items)
            if self.steps_cached and side in self.caches
            else self.model.tower(side).prepare(items)
            for side, items in (("left", a), ("right", b))
        )

    def rows(self, left: Prepared, right: Prepared, rows: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings ``(len(rows), dim)`` of both sides of the pairs at ``rows`` of the prepared items."""
        if not self.steps_cached:  # the model's own forward (a twin runs both sides in one pass)
            fa, fb = to_device(left.features(rows), self.device), to_device(right.features(rows), self.device)
            self._checkpoint(fa, fb)
            return self.net(fa, fb)
        return self._side(left, rows, "left"), self._side(right, rows, "right")

    def __call__(self, a: Sequence[Any], b: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.model
        return self.rows(Prepared(model.left, a), Prepared(model.right, b), range(len(a)))

    def _side(self, prepared: Prepared, rows: Sequence[int], side: str) -> torch.Tensor:
        if side in self.caches:
            return self.model.project(self.caches[side].get(prepared.take(rows), self.device), side)
        return self.model.embed(to_device(prepared.features(rows), self.device), side)
