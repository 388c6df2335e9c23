"""Build, load and create pair models through the registry. Nothing here unpickles.

A model folder holds ``config.json`` (registry names + explicit arguments), ``model.safetensors``, one asset folder
per tower (``encoder/`` for a twin, ``left/`` and ``right/`` for a pseudo-siamese model: tokenizer and transformer
config files) and, once a threshold is tuned, ``decision.json``. Saving lives in ``saving.py``.
"""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model as _load_weights

from textsiam.encoders.pretrained import packaged_names
from textsiam.errors import ConfigError, ModelNotFoundError
from textsiam.models.base import PairModel
from textsiam.models.exported import is_exported_folder, load_exported
from textsiam.models.saving import VERSION, save_model
from textsiam.registry import ENCODERS, PAIR_MODELS, PRESETS

__all__ = [
    "VERSION",
    "build_encoder",
    "tower_folders",
    "build_model",
    "create_model",
    "load_model",
    "preset_config",
    "save_model",
]
_MODEL_KEYS = {"pair_model", "textsiam_version"}  # besides the towers and the config keys each class declares
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def build_encoder(spec: dict[str, Any], folder: Path | None = None):
    """Build one tower from ``{"name": ..., "args": {...}}``; with ``folder``, from saved assets (no download)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"an encoder spec must be {{'name': ..., 'args': {{...}}}}, got {spec!r}")
    cls = ENCODERS.get(spec["name"])
    args = spec.get("args", {})
    if not isinstance(args, dict):
        raise ConfigError(f"encoder {spec['name']!r}: 'args' must be an object of arguments, got {args!r}")
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "_folder")]
    unknown = sorted(set(args) - set(accepted))
    if unknown:
        raise ConfigError(f"encoder {spec['name']!r}: unknown argument(s) {unknown}; it takes {accepted}")
    return cls.from_saved(dict(args), folder) if folder is not None else cls(**args)


def build_model(config: dict[str, Any], folder: Path | None = None) -> PairModel:
    """Registry names + arguments -> a PairModel. ``folder``: rebuild a saved model's towers from its assets."""
    if not isinstance(config, dict):
        raise ConfigError(f"a model config must be a JSON object, got {type(config).__name__}")
    kind = config.get("pair_model")
    if not isinstance(kind, str) or kind not in PAIR_MODELS:
        raise ConfigError(f"config 'pair_model': {PAIR_MODELS.unknown_message(kind)}")
    kind = PAIR_MODELS.canonical(kind)  # an old (renamed) name: warns and goes on with the new one
    cls = PAIR_MODELS.get(kind)
    towers, own, parts = cls.tower_keys, cls.config_keys, cls.submodel_keys  # declared by the class (PairModel)
    unknown = sorted(set(config) - _MODEL_KEYS - set(own) - set(towers) - set(parts))
    if unknown:
        expected = sorted(_MODEL_KEYS | set(own) | set(parts))
        raise ConfigError(f"unknown {kind} model config key(s) {unknown}; expected {expected}")
    missing = [k for k in (*towers, *parts) if k not in config]
    if missing:
        raise ConfigError(f"a {kind} model config needs {[*towers, *parts]}; missing {missing}")
    built = {k: build_encoder(config[k], folder / k if folder else None) for k in towers}
    built |= {k: _build_part(kind, k, config[k], folder / k if folder else None) for k in parts}
    return cls(**built, **{k: config[k] for k in own if config.get(k) is not None})


def _build_part(kind: str, key: str, value: Any, folder: Path | None) -> PairModel:
    """A part model of a composite (``PairModel.submodel_keys``): a saved model folder's path (its weights too), or
    a config (a saved composite's part, rebuilt from ``folder``'s assets; its weights come with the composite's)."""
    if isinstance(value, str):
        try:
            return load_model(value)
        except ModelNotFoundError as err:
            raise ConfigError(f"{kind} model {key!r}: {err}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{kind} model {key!r} must be a saved model folder (a path) or a config, not {value!r}")
    return build_model(value, folder)


def tower_folders() -> set[str]:
    """The asset folder names of every registered pair model's towers and parts (``encoder``, ``left``, ``gate``)."""
    classes = [PAIR_MODELS.get(name) for name in PAIR_MODELS.names()]
    return {key for cls in classes for key in (*cls.tower_keys, *cls.submodel_keys)}


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
    if not is_model_folder(folder) and is_exported_folder(folder):  # what `textsiam export` wrote
        return load_exported(folder).to(device or "cpu")
    if not is_model_folder(folder):
        raise ModelNotFoundError(f"{folder} is not a textsiam model folder: {_folder_problem(folder)}")
    config_file, weights = folder / "config.json", folder / "model.safetensors"
    try:
        model = build_model(json.loads(config_file.read_text()), folder)
    except ConfigError as err:
        raise ConfigError(f"{config_file}: {err}") from None
    try:
        missing, unexpected = _load_weights(model, weights, strict=False)
    except (SafetensorError, OSError) as err:
        raise ModelNotFoundError(
            f"{weights} is damaged or truncated ({str(err)[:120]}); save the model again or copy/download it again"
        ) from None
    except RuntimeError:  # torch's "size mismatch for ...": config.json was edited or belongs to other weights
        raise ModelNotFoundError(
            f"{weights} does not match {config_file}: {_shape_mismatches(model, weights)}"
        ) from None
    if missing or unexpected:
        raise ModelNotFoundError(
            f"{weights} does not match {config_file}: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}; save the model again"
        )
    if (folder / "decision.json").exists():
        from textsiam.eval.decision import Decision

        model.decision = Decision.from_json(folder / "decision.json")
    if device:
        model.to(device)
    return model.eval()


def _shape_mismatches(model: PairModel, weights: Path) -> str:
    """Which tensors have other shapes in ``weights`` than in the model ``config.json`` describes, and the fix."""
    from safetensors import safe_open

    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    with safe_open(str(weights), framework="pt") as f:
        found = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
    differ = sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])
    shown = "; ".join(f"{k} is {found[k]} in the weights but {expected[k]} in the model" for k in differ[:3])
    more = f" (and {len(differ) - 3} more)" if len(differ) > 3 else ""
    return (
        f"{shown or 'tensor shapes differ'}{more}. config.json was changed after saving or comes from another "
        "model: put back the config.json saved with these weights, or save the model again"
    )


def _folder_problem(folder: Path) -> str:
    """Why ``folder`` is not a model folder, and what one needs."""
    needs = "a textsiam model folder holds config.json (with 'pair_model') and model.safetensors"
    if not folder.is_dir():
        return f"no such folder; {needs}"
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickles and not (folder / "model.safetensors").exists():
        return f"it holds only pickled files ({', '.join(pickles[:3])}), which textsiam never loads; {needs}"
    missing = [n for n in ("config.json", "model.safetensors") if not (folder / n).exists()]
    if missing:
        return f"{' and '.join(missing)} missing; {needs}"
    return f"config.json has no 'pair_model' (or is not valid JSON); {needs}"


# -- presets and config files ----------------------------------------------------------------------------------------
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


def config_file_model(path: Path) -> dict[str, Any]:
    """The model config in a JSON file: a preset file (its ``model`` part), or a saved ``config.json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot read this model config ({err})") from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]
    if not isinstance(data, dict) or "pair_model" not in data:
        raise ConfigError(
            f"{path} is not a model config: it needs 'pair_model' with its towers (a saved config.json), "
            "or a 'model' object holding them (a preset file)"
        )
    data.pop("textsiam_version", None)
    return data


def _named_config(name: str) -> dict[str, Any]:
    path = Path(name).expanduser()
    if path.suffix == ".json" and path.is_file():
        return config_file_model(path)
    if name in PRESETS:
        return preset_config(name)["model"]
    if path.is_dir() or "/" in name or name in packaged_names():
        return {"pair_model": "twin", "encoder": {"name": "hf-transformer", "args": {"model_name_or_path": name}}}
    raise ModelNotFoundError(PRESETS.unknown_message(name) + " It is not a model folder or a model .json file either.")


def create_model(name_or_dir: str | Path, seed: int | None = None, **overrides: Any) -> PairModel:
    """A saved model folder, a preset name (``textsiam list presets``), a model ``.json`` file or a transformer
    name -> a PairModel.

    A ``.json`` file is a preset file or a saved ``config.json``: the model is built from it with fresh weights
    (pretrained towers load their pretrained weights; the rest is initialised from ``seed``).
    ``seed`` seeds torch before building, so newly initialised weights (a fresh MLP tower, projections, heads)
    are reproducible; pretrained and saved weights do not depend on it. ``overrides`` replace top-level config
    keys (``similarity``, ``head``, ``projection_dim``); ``encoder_args`` updates the twin encoder's arguments
    (e.g. ``{"pooling": "cls"}``).
    """
    name = str(name_or_dir)
    if is_model_folder(name) or is_exported_folder(name):
        if overrides:
            raise ConfigError(f"{name} is a saved model; overrides {sorted(overrides)} apply only to new models")
        return load_model(name)
    config = _named_config(name)
    unknown = sorted(set(overrides) - {"similarity", "head", "projection_dim", "encoder_args"})
    if unknown:
        raise ConfigError(
            f"unknown create_model override(s) {unknown}; use similarity, head, projection_dim, encoder_args"
        )
    encoder_args = overrides.pop("encoder_args", None)
    if encoder_args:
        if "encoder" not in config:
            raise ConfigError(f"encoder_args applies to twin models; {name!r} has towers {sorted(config)}")
        config["encoder"].setdefault("args", {}).update(encoder_args)
    config.update(overrides)
    if seed is not None:
        torch.manual_seed(seed)
    try:
        return build_model(config)
    except ConfigError as err:
        if not name.endswith(".json"):
            raise
        raise ConfigError(f"{name}: {err}") from None
