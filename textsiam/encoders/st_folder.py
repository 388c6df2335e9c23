"""Read a sentence-transformers folder's own module stack (``modules.json``) without importing that package.

Supported modules: the Transformer (at the top or in a sub-folder), Pooling (cls / mean / max), Dense (weights
from its ``model.safetensors``; a pickle-only Dense is refused) and Normalize. Anything else is a ConfigError that
names the module, so an unsupported folder is never loaded with a silently different embedding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textsiam.errors import ConfigError

# sentence-transformers pooling modes -> textsiam POOLERS names
POOLING_MODES = {"cls": "cls", "mean": "mean", "max": "max"}
_LEGACY_MODES = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
# Dense activations by the class name sentence-transformers stores (torch.nn classes only; never imported by name)
ACTIVATIONS = {"Tanh": "tanh", "Identity": "identity", "ReLU": "relu", "GELU": "gelu", "Sigmoid": "sigmoid"}


@dataclass(frozen=True)
class StLayout:
    """What a sentence-transformers folder says about its embedding, in textsiam's terms."""

    transformer_dir: Path
    pooling: str = "mean"
    normalize: bool = False
    dense: list[dict[str, Any]] = field(default_factory=list)  # HfTextEncoder ``dense`` specs, in order
    dense_weights: list[Path] = field(default_factory=list)  # one model.safetensors per Dense
    max_length: int | None = None
    lowercase: bool = False


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"{path}: cannot read this sentence-transformers file ({err}); re-download the model"
        ) from None


def _kind(module: dict[str, Any], modules_file: Path) -> str:
    if not isinstance(module, dict) or not isinstance(module.get("type"), str):
        raise ConfigError(f"{modules_file}: each module needs a 'type', got {module!r}")
    return module["type"].rsplit(".", 1)[-1]


def _pooling(config: dict[str, Any], path: Path) -> str:
    mode = config.get("pooling_mode")
    if mode is None:
        modes = [m for key, m in _LEGACY_MODES.items() if config.get(key)] or ["mean"]
        mode = modes[0] if len(modes) == 1 else modes
    if isinstance(mode, list | tuple):
        mode = mode[0] if len(mode) == 1 else tuple(mode)
    if mode not in POOLING_MODES:
        raise ConfigError(
            f"{path}: pooling mode {mode!r} is not supported by textsiam (supported: {sorted(POOLING_MODES)}); "
            "this model cannot be loaded without changing its embeddings"
        )
    return POOLING_MODES[mode]


def _dense(folder: Path) -> tuple[dict[str, Any], Path]:
    config = _json(folder / "config.json")
    activation = str(config.get("activation_function", "torch.nn.modules.activation.Tanh")).rsplit(".", 1)[-1]
    if activation not in ACTIVATIONS:
        raise ConfigError(
            f"{folder}: Dense activation {activation!r} is not supported (supported: {sorted(ACTIVATIONS)})"
        )
    if config.get("use_residual") or config.get("module_input_name", "sentence_embedding") != "sentence_embedding":
        raise ConfigError(f"{folder}: a residual Dense or one over token embeddings is not supported by textsiam")
    weights = folder / "model.safetensors"
    if not weights.exists():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl"))
        raise ConfigError(
            f"{folder} holds its Dense weights only as a pickle ({', '.join(pickles) or 'no weights file'}); "
            "textsiam never loads pickles. Re-save the model with sentence-transformers >= 3 (safetensors) and retry"
        )
    spec = {
        "in_features": config["in_features"],
        "out_features": config["out_features"],
        "bias": bool(config.get("bias", True)),
        "activation": ACTIVATIONS[activation],
    }
    return spec, weights


def read_st_folder(folder: Path) -> StLayout | None:
    """The folder's module stack, or None when it has no ``modules.json`` (a plain transformers folder)."""
    modules_file = folder / "modules.json"
    if not modules_file.exists():
        return None
    modules = _json(modules_file)
    if not isinstance(modules, list):
        raise ConfigError(f"{modules_file} must hold a list of modules, got {type(modules).__name__}")
    fields: dict[str, Any] = {"dense": [], "dense_weights": []}
    for module in modules:
        kind, path = _kind(module, modules_file), folder / module.get("path", "")
        if kind == "Transformer":
            fields["transformer_dir"] = path
            fields.update(_transformer_settings(path))
        elif kind == "Pooling":
            fields["pooling"] = _pooling(_json(path / "config.json"), path / "config.json")
        elif kind == "Dense":
            if fields.get("normalize"):
                raise ConfigError(f"{path}: a Dense after Normalize is not supported by textsiam's text tower")
            spec, weights = _dense(path)
            fields["dense"].append(spec)
            fields["dense_weights"].append(weights)
        elif kind == "Normalize":
            fields["normalize"] = True
        else:
            raise ConfigError(
                f"{modules_file}: module {module['type']!r} is not supported by textsiam "
                "(supported: Transformer, Pooling, Dense, Normalize)"
            )
    if "transformer_dir" not in fields:
        raise ConfigError(f"{modules_file} has no Transformer module; textsiam loads transformer-based models only")
    return StLayout(**fields)


def _transformer_settings(path: Path) -> dict[str, Any]:
    for name in ("sentence_bert_config.json", "sentence_roberta_config.json", "sentence_distilbert_config.json"):
        if (path / name).exists():
            config = _json(path / name)
            return {"max_length": config.get("max_seq_length"), "lowercase": bool(config.get("do_lower_case"))}
    return {}
