"""Serve fixtures: a saved tiny twin, a pseudo-siamese model of two tiny towers, a search index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

TEXTS = [
    "a man plays the guitar",
    "a woman eats pizza",
    "two children read a book",
    "the dog runs in the park",
    "a red car on the street",
    "people talking on the phone",
    "a cat sits on a horse",
    "music and chess and cheese",
]


@pytest.fixture(scope="session")
def twin_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    """A saved textsiam twin folder (what `textsiam serve --model DIR` loads)."""
    from textsiam.models.io import create_model

    folder = tmp_path_factory.mktemp("served-twin")
    create_model(str(tiny_bert_dir)).save(folder)
    return folder


@pytest.fixture(scope="session")
def twin(twin_dir):
    from textsiam.models.io import load_model

    return load_model(twin_dir)


@pytest.fixture(scope="session")
def pseudo(tiny_bert_dir):
    from textsiam.models.io import build_model

    tower = {"name": "hf-transformer", "args": {"model_name_or_path": str(tiny_bert_dir)}}
    import torch

    torch.manual_seed(3)
    config = {"pair_model": "pseudo", "left": tower, "right": tower, "projection_dim": 16}
    return build_model(config).eval()


def write_index(folder: Path, vectors: np.ndarray, ids: list[str], similarity: str = "cosine") -> Path:
    """An index folder in the agreed layout (index.json, embeddings.npy, ids.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"model": "tiny", "side": "right", "similarity": similarity, "count": len(ids), "dim": vectors.shape[1]}
    (folder / "index.json").write_text(json.dumps(meta))
    np.save(folder / "embeddings.npy", vectors.astype(np.float32))
    (folder / "ids.json").write_text(json.dumps(ids))
    return folder


@pytest.fixture(scope="session")
def index_dir(twin, tmp_path_factory) -> Path:
    vectors = twin.encode(TEXTS, "right").numpy()
    return write_index(tmp_path_factory.mktemp("index"), vectors, [f"doc{i}" for i in range(len(TEXTS))])
