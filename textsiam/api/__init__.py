"""The Python API: the one front door every CLI command, script and the service call (fit, evaluate, score, tune a
threshold, encode, search, export, datasets, list, demo).

``model`` arguments take a PairModel or what ``create_model`` takes (preset, saved folder, transformer name);
``data`` arguments take a PairData or what ``load_data`` takes (a file, or ``NAME:SPLIT`` such as ``digits:test``)
with the reading options: ``format`` and the fields of :class:`~textsiam.data.options.ReadOptions`.

Names are imported on first use (``textsiam.api.settings`` stays free of torch, so the CLI builds its flags from it
without loading a model library).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_NAMES = {
    "FitResult": "fitting",
    "fit": "fitting",
    "RunSettings": "settings",
    "evaluate": "evaluation",
    "rank": "evaluation",
    "rank_images_texts": "evaluation",
    "Ranked": "evaluation",
    "retrieval": "evaluation",
    "similarity_matrix": "evaluation",
    "decision_columns": "scoring",
    "score_file": "scoring",
    "score_pairs": "scoring",
    "score_texts": "scoring",
    "tune_threshold": "tune",
    "Encoded": "files",
    "Exported": "files",
    "encode": "files",
    "export": "files",
    "search_files": "files",
    "Fetched": "catalog",
    "dataset_catalog": "catalog",
    "get_dataset": "catalog",
    "list_components": "catalog",
    "DemoResult": "demo_pipeline",
    "demo": "demo_pipeline",
    "load_data": "common",
}
__all__ = sorted(_NAMES)

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name is imported on first use
    from textsiam.api.catalog import Fetched, dataset_catalog, get_dataset, list_components  # noqa: F401
    from textsiam.api.common import load_data  # noqa: F401
    from textsiam.api.demo_pipeline import DemoResult, demo  # noqa: F401
    from textsiam.api.evaluation import Ranked, evaluate, rank, rank_images_texts, retrieval, similarity_matrix  # noqa: F401
    from textsiam.api.files import Encoded, Exported, encode, export, search_files  # noqa: F401
    from textsiam.api.fitting import FitResult, fit  # noqa: F401
    from textsiam.api.scoring import decision_columns, score_file, score_pairs, score_texts  # noqa: F401
    from textsiam.api.settings import RunSettings  # noqa: F401
    from textsiam.api.tune import tune_threshold  # noqa: F401


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'textsiam.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"textsiam.api.{_NAMES[name]}"), name)
    globals()[name] = value  # once: later lookups (and monkeypatch.setattr) see a plain module attribute
    return value
