"""The service's search index and limits: the index folder is read by the one strict loader
(textsiam/index/store.py, tested in tests/index/test_store.py); bad limits are clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_index

from textsiam.errors import ConfigError, DataError
from textsiam.index.search import top_k_hits
from textsiam.index.store import Index, load_index, save_index
from textsiam.serve.limits import Limits


def test_an_index_saved_by_the_search_command_loads_with_its_row_number_ids(tmp_path):
    folder = save_index(Index(np.eye(3, 4, dtype=np.float32), [0, 1, 2], "m", "cosine"), tmp_path / "idx")
    index = load_index(folder, mmap=False)
    # a one-hot query against one-hot rows: the dot product is exactly 1
    assert top_k_hits(index, np.eye(3, 4, dtype=np.float32)[[2]], 1) == [[{"id": 2, "score": 1.0}]]


def test_a_hand_written_index_folder_in_the_agreed_layout_loads(tmp_path):
    index = load_index(write_index(tmp_path / "index", np.eye(3, 4), ["a", "b", "c"]), mmap=False)
    assert index.query_side == "left" and index.ids == ["a", "b", "c"] and index.meta["count"] == 3


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_refuses_a_damaged_index_before_starting(tmp_path):
    from textsiam.serve.server import serve

    folder = write_index(tmp_path / "index", np.eye(3, 4), ["a", "b", "c"])
    (folder / "ids.json").write_text('["a", 2, "c"]')
    pytest.importorskip("uvicorn")
    with pytest.raises(DataError, match="ids.json: must be a JSON list of strings or"):
        serve("unused-model-name", port=_free_port(), index=str(folder))  # 8000 may be taken on this machine


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_items", 0),
        ("max_chars", -1),
        ("max_batch", 2.5),
        ("window_ms", -1),
        ("max_depth", 0),
        ("body_timeout_s", 0),
        ("body_timeout_s", True),
        ("body_timeout_s", 7200),
    ],
)
def test_bad_limits_are_config_errors(field, value):
    with pytest.raises(ConfigError, match=field):
        Limits(**{field: value})
