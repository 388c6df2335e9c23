"""Write a pair model folder: ``config.json``, ``model.safetensors``, one asset folder per tower, ``decision.json``.

Kept apart from ``io`` (which builds and loads through the registry) so that ``PairModel.save`` can call it without
an import loop: this module needs no model class, only the ``get_config`` / ``tower_keys`` contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors.torch import save_model as _save_weights
from torch import nn

from textsiam.atomic import atomic_write, make_folder, write_json
from textsiam.models.card import write_card
from textsiam.version import __version__

VERSION = __version__


def save_model(model: nn.Module, folder: str | Path) -> Path:
    """Save a PairModel so that ``load_model(folder)`` rebuilds it through the registry, without pickles."""
    if getattr(model, "quantized", None):
        from textsiam.errors import ConfigError

        raise ConfigError(
            f"this model is {model.quantized}-quantized, an inference-only copy; save the float model instead "
            "and quantize it after loading (quantize=/--quantize)"
        )
    if getattr(model, "inference_dtype", None):
        from textsiam.errors import ConfigError

        raise ConfigError(
            f"this model runs in {model.inference_dtype}, an inference-only copy; save the float32 model instead "
            "and convert it after loading (dtype=/--dtype)"
        )
    folder = Path(folder)
    make_folder(folder)
    config: dict[str, Any] = {"textsiam_version": VERSION, **model.get_config()}
    # A decision tuned for other weights must not stick to these, not even when a kill interrupts this save.
    (folder / "decision.json").unlink(missing_ok=True)
    save_assets(model, folder)
    atomic_write(folder / "model.safetensors", lambda tmp: _save_weights(model, tmp))
    write_json(folder / "config.json", config)
    if model.decision is not None:
        model.decision.to_json(folder / "decision.json")
    write_card(folder, model)  # README.md: what the folder holds, from the run's files beside it (models/card.py)
    return folder


def save_assets(model: nn.Module, folder: Path) -> None:
    """Each tower's assets in its folder (``PairModel.tower_keys``: config key = tower attribute = asset folder),
    and a part model's (``submodel_keys``) in a folder of its key, the same way."""
    for key in type(model).tower_keys:
        getattr(model, key).save_assets(folder / key)
    for key in type(model).submodel_keys:
        save_assets(getattr(model, key), folder / key)
