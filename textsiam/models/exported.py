"""Read back a folder that ``textsiam export`` wrote (sentence-transformers or ONNX layout): the same PairModel.

The export leaves ``textsiam_export.json`` (the pair model's config and, per tower, the folders of its transformer,
its Dense layers and the projection) and ``decision.json``. The model is rebuilt from the config with each tower's
architecture read from its transformer folder, and the exported weights are loaded into the tower's own modules
(``Encoder.export_parts``: live modules) and the model's projections (``PairModel.projection_of``): every weight
must be found, none may be left over, so a folder edited by hand is refused rather than read half.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from textsiam.errors import ConfigError, ModelNotFoundError

MANIFEST = "textsiam_export.json"


def is_exported_folder(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def load_exported(folder: str | Path) -> Any:
    """The PairModel an export folder holds, with its decision, in eval mode."""
    from textsiam.models.io import build_encoder
    from textsiam.registry import PAIR_MODELS

    folder = Path(folder)
    manifest = _read(folder / MANIFEST)
    config, towers = manifest.get("model"), manifest.get("towers")
    if not isinstance(config, dict) or not isinstance(towers, dict) or "pair_model" not in config:
        raise ModelNotFoundError(f"{folder / MANIFEST} has no 'model' config or no 'towers'; export the model again")
    built = {key: build_encoder(config[key], folder / where["transformer"]) for key, where in towers.items()}
    options = {k: v for k, v in config.items() if k not in built and k not in ("pair_model", "textsiam_version")}
    model = PAIR_MODELS.get(config["pair_model"])(**built, **{k: v for k, v in options.items() if v is not None})
    sides = {"encoder": "left", "left": "left", "right": "right"}
    for key, where in towers.items():
        parts = built[key].export_parts()
        _load(parts.transformer, folder / where["transformer"] / "model.safetensors", "")
        for (linear, _), path in zip(parts.dense, where["dense"], strict=True):
            _load(linear, folder / path / "model.safetensors", "linear.")
        projection = model.projection_of(sides[key])
        if (projection is None) != (where.get("projection") is None):
            raise ModelNotFoundError(f"{folder / MANIFEST}: the {key} tower's projection does not match the config")
        if projection is not None:
            _load(projection, folder / where["projection"] / "model.safetensors", "linear.")
    if manifest.get("decision"):
        from textsiam.eval.decision import Decision

        model.decision = Decision.from_json(folder / manifest["decision"])
    return model.eval()


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot read this export manifest ({err}); export the model again") from None


def _load(module: nn.Module, path: Path, prefix: str) -> None:
    """Load ``path``'s tensors (names without ``prefix``) into ``module``: all of them, exactly."""
    try:
        tensors = {k.removeprefix(prefix): v for k, v in load_file(str(path)).items()}
        module.load_state_dict(tensors, strict=True)
    except (SafetensorError, OSError, RuntimeError) as err:
        raise ModelNotFoundError(
            f"{path}: cannot load these exported weights ({str(err)[:200]}); export the model again"
        ) from None
