"""Fixtures for the data tests: where the shared benchmark files live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared benchmark data folder: ``$TEXTSIAM_DATA``, else ``<repo>/../shared/data``; skips when absent."""
    env = os.environ.get("TEXTSIAM_DATA")
    root = Path(env) if env else (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()
    if not root.is_dir():
        source = "TEXTSIAM_DATA" if env else "the default location"
        pytest.skip(f"benchmark data folder {root} (from {source}) not found; set TEXTSIAM_DATA to ../shared/data")
    return root
