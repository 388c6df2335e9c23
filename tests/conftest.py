"""Pytest fixtures: the tiny random BERT and the benchmark data folder. Helpers: ``tests/helpers/``."""

from __future__ import annotations

import os
from pathlib import Path

# One intra-op thread per process (OMP_NUM_THREADS in the environment overrides it; subprocess tests inherit it).
# The tests' models are tiny and CI has 2 shared cores: on a loaded 2-core machine two threads made the pseudo-siamese
# training test take 35 CPU-s instead of 2 and MiniLM encoding 4.5x the CPU, spinning at OpenMP barriers.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402  (after OMP_NUM_THREADS: torch reads it when first imported)

from tests.helpers.fixtures import ROOT, make_tiny_bert, shared_data_dir, write_images  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        where = os.environ.get("TEXTSIAM_DATA") or ROOT.parent / "shared" / "data"
        pytest.skip(f"benchmark data folder {where} not found; set TEXTSIAM_DATA to the folder holding stsb/, mrpc/")
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with a local vocabulary, saved as a transformers folder."""
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def image_files(tmp_path):
    """``image_files(n, size=(w, h), mode="RGB")``: n random PNG files in a temporary folder, as path strings."""

    def make(n: int, size: tuple[int, int] = (32, 32), mode: str = "RGB", seed: int = 0) -> list[str]:
        return write_images(tmp_path / f"images-{mode}-{size[0]}x{size[1]}-{seed}", n, size, mode, seed)

    return make
