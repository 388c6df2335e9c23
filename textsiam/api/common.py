"""What every API function does first: a model from what the user gave (object, preset, folder, name) on the asked
device, pairs from what the user gave (PairData, file, ``NAME:SPLIT``), a checked batch size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from textsiam.data import PairData
from textsiam.data.load import load_data
from textsiam.device import resolve_device
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel
from textsiam.names import check_name


def built_model(
    model: PairModel | str | Path,
    device: torch.device | None,
    quantize: str | None = None,
    dtype: str = "fp32",
    compile: bool = False,
) -> PairModel:
    """``model`` built (or passed through), moved to ``device`` (from :func:`device_of`) when given, then
    int8-quantized or with its towers in ``dtype`` (fp32, bf16, fp16, auto: :mod:`textsiam.deploy.precision`; after
    the move, so ``auto`` asks the device the model runs on); ``compile``: the int8 layers compiled. A model object
    that needs converting is copied."""
    from textsiam.deploy.precision import check_dtype
    from textsiam.deploy.quantize import check_compile, for_inference
    from textsiam.models.io import create_model

    if quantize is not None and device is not None and device.type != "cpu":
        raise ConfigError(f"int8 quantization runs on the CPU; drop --device {device} or --quantize {quantize}")
    given = isinstance(model, PairModel)
    # refusals (unknown dtype, int8 with bf16, fp16 where the device lacks it) before a model loads
    check_dtype(dtype, quantize, device or (model.device if given else "cpu"))
    check_compile(compile, quantize)
    built = model if given else create_model(model)
    built = built.to(device) if device is not None else built
    return for_inference(built, quantize, dtype, inplace=not given, compile=compile)


def pair_data(data: PairData | str | Path, read: dict[str, Any]) -> PairData:
    """``data`` itself, or the pairs ``load_data`` reads from it with the reading keywords ``read``."""
    if isinstance(data, PairData):
        return data
    check_name("readers", read.get("format"))
    return load_data(data, **read)


def check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer (--batch-size), got {batch_size!r}")


def device_of(device: str | None) -> torch.device | None:
    """The torch device named ``device`` (None: where the model loads), resolved once per call, before any data is
    read or model built: an unknown or absent device is a ConfigError."""
    return resolve_device(device) if device is not None else None
