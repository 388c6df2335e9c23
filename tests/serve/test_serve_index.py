"""Search index folders and service limits: every bad one is a clear error naming the file or the limit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import write_index

from textsiam.errors import ConfigError, DataError
from textsiam.serve.index import load_index
from textsiam.serve.limits import Limits


@pytest.fixture
def good(tmp_path):
    return write_index(tmp_path / "index", np.eye(3, 4), ["a", "b", "c"])


def test_a_good_index_loads_and_ranks_exactly(good):
    index = load_index(good)
    hits = index.top_k(torch.eye(3, 4)[[1]], 2)
    assert index.query_side == "left" and hits[0][0] == {"id": "b", "score": pytest.approx(1.0)}


def test_an_index_saved_by_the_search_command_loads_with_its_row_number_ids(tmp_path):
    from textsiam.index.store import Index, save_index

    folder = save_index(Index(np.eye(3, 4, dtype=np.float32), [0, 1, 2], "m", "cosine"), tmp_path / "idx")
    index = load_index(folder)
    assert index.top_k(torch.eye(3, 4)[[2]], 1) == [[{"id": 2, "score": pytest.approx(1.0)}]]


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda d: (d / "ids.json").unlink(), "ids.json: missing"),
        (lambda d: (d / "index.json").write_text("{"), "index.json: not valid JSON"),
        (lambda d: (d / "index.json").write_text("[]"), "must be an object with side"),
        (
            lambda d: (d / "ids.json").write_text('["a", 2, "c"]'),
            "ids.json: must be a JSON list of strings or",
        ),
        (lambda d: (d / "ids.json").write_text('["a"]'), "1 ids do not match"),
        (lambda d: np.save(d / "embeddings.npy", np.ones((3, 5))), "shape (3, 5)"),
        (lambda d: np.save(d / "embeddings.npy", np.array([{"x": 1}] * 3)), "not a readable .npy array"),
        (lambda d: (d / "embeddings.npy").write_bytes(b"not numpy"), "not a readable .npy array"),
        (lambda d: _meta(d, side="up"), "side must be 'left' or 'right'"),
    ],
)
def test_a_damaged_index_is_a_data_error_naming_the_file(good, damage, words):
    damage(good)
    with pytest.raises(DataError) as err:
        load_index(good)
    assert words in str(err.value) and str(good) in str(err.value)


def _meta(folder, **changes):
    meta = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**meta, **changes}))


@pytest.mark.parametrize("field, value", [("max_items", 0), ("max_chars", -1), ("max_batch", 2.5), ("window_ms", -1)])
def test_bad_limits_are_config_errors(field, value):
    with pytest.raises(ConfigError, match=field):
        Limits(**{field: value})
