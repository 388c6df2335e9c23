"""textsiam: similarity learning with siamese (twin) and pseudo-siamese networks.

The public API is imported lazily so that ``import textsiam`` and ``textsiam --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "create_model": "textsiam.models.io",
    "load": "textsiam.models.io:load_model",
    "load_model": "textsiam.models.io",
    "build_model": "textsiam.models.io",
    "export": "textsiam.deploy.export:export_model",
    "PairModel": "textsiam.models.base",
    "TwinModel": "textsiam.models.twin",
    "PseudoSiameseModel": "textsiam.models.pseudo",
    "Trainer": "textsiam.train.trainer",
    "TrainConfig": "textsiam.train.config",
    "fit": "textsiam.api",
    "FitResult": "textsiam.api",
    "evaluate": "textsiam.api",
    "score_file": "textsiam.api",
    "load_data": "textsiam.api",
    "score_pairs": "textsiam.api",
    "tune_threshold": "textsiam.api",
    "list_components": "textsiam.api",
    "read_pairs": "textsiam.data",
    "digit_pairs": "textsiam.data",
    "PairData": "textsiam.data",
    "select_threshold": "textsiam.eval",
    "search": "textsiam.index",
    "build_index": "textsiam.index",
    "load_index": "textsiam.index",
    "encode_file": "textsiam.index",
    "quantize": "textsiam.deploy.quantize",
    "rerank": "textsiam.models.rerank",
    "Decision": "textsiam.eval",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the installed metadata on first use (textsiam/version.py)
        from textsiam.version import __version__

        return __version__
    if name not in _API:
        raise AttributeError(f"module 'textsiam' has no attribute {name!r}")
    module, _, attr = _API[name].partition(":")
    return getattr(importlib.import_module(module), attr or name)


def load_components() -> None:
    """Fill every registry (each imports the subpackage that registers its kind)."""
    from textsiam.registry import ALL_REGISTRIES

    for registry in ALL_REGISTRIES.values():
        registry.fill()
