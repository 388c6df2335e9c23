"""Shorter embeddings: the first ``dim`` coordinates, renormalised to unit length (Matryoshka-style truncation).

A model trained with the ``matryoshka`` loss keeps most of its quality in its leading coordinates; any other model
can be truncated too, usually at a larger cost. Used by ``textsiam encode --dim N`` and the service's OpenAI
``dimensions`` field.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from textsiam.errors import ConfigError


def check_dim(dim: Any, full: int, name: str = "dim") -> int:
    """``dim`` if it is an integer in 1..``full``, else a ConfigError naming the range."""
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or not 1 <= dim <= full:
        raise ConfigError(f"{name}={dim!r} is not available: {dimensions_range(full)}")
    return int(dim)


def dimensions_range(full: int) -> str:
    return f"this model makes {full}-dim vectors; ask for 1..{full} (the first N coordinates, renormalised)"


def truncate(x: np.ndarray, dim: int) -> np.ndarray:
    """``(rows, full)`` -> ``(rows, dim)`` float32: the first ``dim`` coordinates of each row, at unit L2 norm (a row
    of zeros stays zeros)."""
    head = np.asarray(x, dtype=np.float32)[:, :dim]
    norms = np.linalg.norm(head, axis=1, keepdims=True)
    return head / np.maximum(norms, np.float32(1e-12))
