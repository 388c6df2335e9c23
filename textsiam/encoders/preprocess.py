"""Image preprocessing with Pillow-decoded arrays and torch only (no torchvision).

:class:`ImagePreprocess` is part of an image encoder's saved config, so a saved model turns a raw image file into
the same tensor at scoring time as it did in training: channels, size (shorter side resized, then a centre crop),
normalisation, and, in training mode only, augmentation (random resized crop, optional horizontal flip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from textsiam.errors import ConfigError
from textsiam.imaging import load_image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ImagePreprocess:
    """How raw images become ``(channels, size, size)`` float tensors.

    ``size`` None keeps the input size (all images of a batch must then share it). ``mean``/``std`` apply to
    values scaled to [0, 1]. ``augment`` (training mode only): random resized crop covering ``crop_scale`` of the
    area with aspect ratio 3/4..4/3, and a horizontal flip with probability 0.5 when ``flip``; ``shift`` moves
    the image by up to that many pixels (zero padded), the usual augmentation for small digit images.
    """

    size: int | None = None
    channels: int = 1
    mean: list[float] = field(default_factory=lambda: [0.0])
    std: list[float] = field(default_factory=lambda: [1.0])
    augment: bool = False
    crop_scale: list[float] = field(default_factory=lambda: [0.6, 1.0])
    flip: bool = False
    shift: int = 0

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ConfigError(f"image channels must be 1 (greyscale) or 3 (RGB), got {self.channels!r}")
        if self.size is not None and (not isinstance(self.size, int) or self.size < 4):
            raise ConfigError(f"image size must be an integer >= 4 or None, got {self.size!r}")
        self.mean, self.std = [float(x) for x in self.mean], [float(x) for x in self.std]
        if len(self.mean) != self.channels or len(self.std) != self.channels or min(self.std) <= 0:
            raise ConfigError(
                f"mean and std need one value per channel ({self.channels}) and std > 0, got {self.mean}, {self.std}"
            )
        lo, hi = (float(x) for x in self.crop_scale)
        if not 0 < lo <= hi <= 1:
            raise ConfigError(f"crop_scale must be [low, high] with 0 < low <= high <= 1, got {self.crop_scale}")
        self.crop_scale = [lo, hi]

    @classmethod
    def from_config(cls, config: dict[str, Any] | ImagePreprocess | None) -> ImagePreprocess:
        if isinstance(config, ImagePreprocess):
            return config
        try:
            return cls(**(config or {}))
        except TypeError as err:
            raise ConfigError(f"bad image preprocessing config {config!r}: {err}") from None

    def to_config(self) -> dict[str, Any]:
        return asdict(self)

    # -- batches ------------------------------------------------------------------------------------------------
    def batch(self, items: Sequence[Any], train: bool = False, rng: np.random.Generator | None = None) -> torch.Tensor:
        """Raw items (image references, uint8 or float arrays) -> ``(batch, channels, H, W)`` float32."""
        if not len(items):
            raise ValueError("an image batch needs at least one item")
        augment = train and self.augment
        rng = rng or np.random.default_rng()
        tensors = [self._pixels(item) for item in items]  # (C, H, W) in [0, 1]
        if not augment and self.size is None:
            shapes = {tuple(t.shape) for t in tensors}
            if len(shapes) > 1:
                raise ValueError(f"images of different sizes {sorted(shapes)[:3]} need a preprocessing size")
            x = torch.stack(tensors)
        else:
            x = torch.stack([self._geometry(t, augment, rng) for t in tensors])
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x - mean) / std

    def _pixels(self, item: Any) -> torch.Tensor:
        array = load_image(item) if isinstance(item, str) else np.asarray(item)
        if array.dtype == np.uint8:
            x = torch.from_numpy(np.array(array, dtype=np.float32)) / 255.0
        else:
            x = torch.as_tensor(np.asarray(array, dtype=np.float32))
        if x.dim() == 1:  # a flattened square greyscale image, e.g. sklearn digits
            side = math.isqrt(x.numel())
            if side * side != x.numel():
                raise ValueError(f"a flat image needs a square number of pixels, got {x.numel()}")
            x = x.view(side, side)
        x = x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)  # (C, H, W)
        if x.shape[0] == 4:
            x = x[:3]
        if self.channels == 3 and x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        elif self.channels == 1 and x.shape[0] == 3:
            x = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]).unsqueeze(0)
        return x

    def _geometry(self, x: torch.Tensor, augment: bool, rng: np.random.Generator) -> torch.Tensor:
        if augment:
            x = _random_crop(x, self.crop_scale, rng) if self.crop_scale[0] < 1 else x
            if self.flip and rng.random() < 0.5:
                x = x.flip(-1)
            if self.shift:
                x = _shift(x, self.shift, rng)
        if self.size is None:
            return x
        if augment and self.crop_scale[0] < 1:
            return _resize(x, self.size, self.size)
        return _center_crop(_resize_shorter(x, self.size), self.size)


def _resize(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    if x.shape[-2:] == (h, w):
        return x
    return F.interpolate(x.unsqueeze(0), size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]


def _resize_shorter(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    return _resize(x, max(size, round(h * scale)), max(size, round(w * scale)))


def _center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, top : top + size, left : left + size]


def _random_crop(x: torch.Tensor, scale: list[float], rng: np.random.Generator) -> torch.Tensor:
    h, w = x.shape[-2:]
    for _ in range(10):
        area = h * w * rng.uniform(*scale)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        ch, cw = round(math.sqrt(area / ratio)), round(math.sqrt(area * ratio))
        if 0 < ch <= h and 0 < cw <= w:
            top, left = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
            return x[:, top : top + ch, left : left + cw]
    return x


def _shift(x: torch.Tensor, pixels: int, rng: np.random.Generator) -> torch.Tensor:
    dy, dx = (int(v) for v in rng.integers(-pixels, pixels + 1, size=2))
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    h, w = x.shape[-2:]
    return padded[:, pixels + dy : pixels + dy + h, pixels + dx : pixels + dx + w]
