"""Build, save, load and create pair models through the registry. Nothing here unpickles.

A model folder holds ``config.json`` (registry names + explicit arguments), ``model.safetensors``, one asset folder
per tower (``encoder/`` for a twin, ``left/`` and ``right/`` for a pseudo-siamese model: tokenizer and transformer
config files) and, once a threshold is tuned, ``decision.json``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model as _load_weights
from safetensors.torch import save_model as _save_weights

from textsiam.atomic import atomic_write, write_json
from textsiam.errors import ConfigError, ModelNotFoundError
from textsiam.models.base import PairModel
from textsiam.registry import ENCODERS, PAIR_MODELS, PRESETS

VERSION = "0.1.0"
_TOWER_KEYS = {"twin": ("encoder",), "pseudo": ("left", "right")}


def build_encoder(spec: dict[str, Any], folder: Path | None = None):
    """Build one tower from ``{"name": ..., "args": {...}}``; with ``folder``, from saved assets (no download)."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError(f"an encoder spec must be {{'name': ..., 'args': {{...}}}}, got {spec!r}")
    cls = ENCODERS.get(spec["name"])
    args = dict(spec.get("args", {}))
    return cls.from_saved(args, folder) if folder is not None else cls(**args)


def build_model(config: dict[str, Any], folder: Path | None = None) -> PairModel:
    """Registry names + arguments -> a PairModel. ``folder``: rebuild a saved model's towers from its assets."""
    kind = config.get("pair_model")
    if kind not in _TOWER_KEYS:
        raise ConfigError(f"config 'pair_model' must be one of {sorted(_TOWER_KEYS)}, got {kind!r}")
    towers = {k: build_encoder(config[k], folder / k if folder else None) for k in _TOWER_KEYS[kind]}
    extra = {k: config[k] for k in ("similarity", "head", "projection_dim") if config.get(k) is not None}
    return PAIR_MODELS.get(kind)(**towers, **extra)


def save_model(model: PairModel, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"textsiam_version": VERSION, **model.get_config()}
    for key in _TOWER_KEYS[config["pair_model"]]:
        getattr(model, key).save_assets(folder / key)  # the tower attribute has the folder's name
    atomic_write(folder / "model.safetensors", lambda tmp: _save_weights(model, tmp))
    write_json(folder / "config.json", config)
    if model.decision is not None:
        model.decision.to_json(folder / "decision.json")
    else:  # a decision tuned for other weights must not stick to these
        (folder / "decision.json").unlink(missing_ok=True)
    return folder


def is_model_folder(path: str | Path) -> bool:
    cfg = Path(path) / "config.json"
    if not (cfg.exists() and (Path(path) / "model.safetensors").exists()):
        return False
    try:
        return "pair_model" in json.loads(cfg.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def load_model(folder: str | Path, device: str | None = None) -> PairModel:
    """Rebuild a saved model from its registry names and load its safetensors weights (and decision, if any)."""
    folder = Path(folder)
    if not is_model_folder(folder):
        raise ModelNotFoundError(
            f"{folder} is not a textsiam model folder (needs config.json with 'pair_model' and model.safetensors)"
        )
    model = build_model(json.loads((folder / "config.json").read_text()), folder)
    missing, unexpected = _load_weights(model, folder / "model.safetensors", strict=False)
    if missing or unexpected:
        raise ModelNotFoundError(
            f"{folder / 'model.safetensors'} does not match config.json: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}"
        )
    if (folder / "decision.json").exists():
        from textsiam.eval.decision import Decision

        model.decision = Decision.from_json(folder / "decision.json")
    if device:
        model.to(device)
    return model.eval()


# -- presets -------------------------------------------------------------------------------------------------------
_PRESET_DIR = Path(__file__).parent / "presets"


def _register_presets() -> None:
    for path in sorted(_PRESET_DIR.glob("*.json")):
        preset = json.loads(path.read_text())
        if path.stem not in PRESETS:
            PRESETS.register(path.stem, preset, description=preset.get("description", ""))


_register_presets()


def preset_config(name: str) -> dict[str, Any]:
    """A deep copy of a preset's config (``model`` part plus optional ``train`` defaults)."""
    return copy.deepcopy(PRESETS.get(name))


def create_model(name_or_dir: str | Path, seed: int | None = None, **overrides: Any) -> PairModel:
    """A saved model folder, a preset name (``textsiam list presets``) or a transformer name -> a PairModel.

    ``seed`` seeds torch before building, so newly initialised weights (a fresh MLP tower, projections, heads)
    are reproducible; pretrained and saved weights do not depend on it. ``overrides`` replace top-level config
    keys (``similarity``, ``head``, ``projection_dim``); ``encoder_args`` updates the twin encoder's arguments
    (e.g. ``{"pooling": "cls"}``).
    """
    name = str(name_or_dir)
    if is_model_folder(name):
        if overrides:
            raise ConfigError(f"{name} is a saved model; overrides {sorted(overrides)} apply only to new models")
        return load_model(name)
    if name in PRESETS:
        config = preset_config(name)["model"]
    elif Path(name).is_dir() or "/" in name or name in _known_transformers():
        config = {"pair_model": "twin", "encoder": {"name": "hf-transformer", "args": {"model_name_or_path": name}}}
    else:
        raise ModelNotFoundError(PRESETS.unknown_message(name) + " It is not a model folder either.")
    unknown = sorted(set(overrides) - {"similarity", "head", "projection_dim", "encoder_args"})
    if unknown:
        raise ConfigError(
            f"unknown create_model override(s) {unknown}; use similarity, head, projection_dim, encoder_args"
        )
    encoder_args = overrides.pop("encoder_args", None)
    if encoder_args:
        if "encoder" not in config:
            raise ConfigError(f"encoder_args applies to twin models; {name!r} has towers {sorted(config)}")
        config["encoder"]["args"].update(encoder_args)
    config.update(overrides)
    if seed is not None:
        torch.manual_seed(seed)
    return build_model(config)


def _known_transformers() -> set[str]:
    from textsiam.encoders.pretrained import _ALIASES

    return set(_ALIASES)
