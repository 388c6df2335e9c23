"""A disk store for the outputs of frozen, pretrained image units, shared by training runs on one machine.

A frozen part of a pretrained image tower maps an image file to the same tensor in every run, so a folder named by
``TEXTSIAM_FEATURE_CACHE`` (off when unset) keeps each output as one ``.safetensors`` file: the next run, or the
next recipe with the same frozen part, reads it instead of decoding and running the backbone again. The file name
is a hash of what determines the output: the tower (variant, number of frozen units, preprocessing, view) and the
image file (absolute path, size, modification time), so an edited image or another recipe gets a new entry and a
stale one is never read. Entries are written atomically; a file that does not read back is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

ENV = "TEXTSIAM_FEATURE_CACHE"


def store_folder() -> Path | None:
    """The folder of the store, or None when ``TEXTSIAM_FEATURE_CACHE`` is unset (the default: no disk store)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


class FeatureStore:
    """``get(ref, view)`` / ``put(ref, view, tensor)`` for one tower configuration (``signature``)."""

    def __init__(self, folder: Path, signature: dict[str, Any]) -> None:
        self.folder = folder
        self.signature = json.dumps(signature, sort_keys=True)

    def _file(self, ref: str, view: int) -> Path | None:
        try:
            st = os.stat(ref)
        except OSError:
            return None
        key = f"{self.signature}|{os.path.abspath(ref)}|{st.st_size}|{st.st_mtime_ns}|{view}"
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest}.safetensors"

    def get(self, ref: str, view: int) -> torch.Tensor | None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self._file(ref, view)
        if path is None or not path.is_file():
            return None
        try:
            return load_file(path)["features"]
        except (SafetensorError, OSError, KeyError):
            return None  # a torn or foreign file: recomputed and overwritten

    def put(self, ref: str, view: int, features: torch.Tensor) -> None:
        from safetensors.torch import save_file

        from textsiam.atomic import atomic_write

        path = self._file(ref, view)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tensor = features.detach().contiguous().clone()
        atomic_write(path, lambda tmp: save_file({"features": tensor}, tmp))
