"""The index folder loader (textsiam/index/store.py): one strict loader for `textsiam search --index` and serving.

Every damaged folder is a DataError naming the file and how to rebuild the index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textsiam.errors import DataError
from textsiam.index.search import build_index, top_k_hits
from textsiam.index.store import Index, load_index, save_index


@pytest.fixture
def good(tmp_path):
    return save_index(Index(np.eye(3, 4, dtype=np.float32), ["a", "b", "c"], "m", "cosine"), tmp_path / "index")


def _meta(folder, **changes):
    meta = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**meta, **changes}))


def test_a_good_index_loads_and_ranks_exactly(good):
    index = load_index(good)
    hits = top_k_hits(index, np.eye(3, 4, dtype=np.float32)[[1]], 2)
    # a one-hot query against one-hot rows: the dot product is exactly 1
    assert index.query_side == "left" and hits[0][0] == {"id": "b", "score": 1.0}
    assert isinstance(index.embeddings, np.memmap) and not isinstance(
        load_index(good, mmap=False).embeddings, np.memmap
    )


def test_an_index_of_left_side_items_is_searched_with_right_side_queries(good):
    _meta(good, side="left")
    assert load_index(good).query_side == "right"


def test_row_number_ids_and_extra_keys_load(tmp_path):
    folder = save_index(Index(np.eye(3, 4, dtype=np.float32), [0, 1, 2], "m", "dot", extra={"ann": {"k": 1}}), tmp_path)
    index = load_index(folder)
    assert index.ids == [0, 1, 2] and index.extra == {"ann": {"k": 1}} and index.similarity == "dot"


@pytest.mark.parametrize(
    "damage, file, words",
    [
        (lambda d: (d / "ids.json").unlink(), "ids.json", "missing; an index folder needs index.json"),
        (lambda d: (d / "embeddings.npy").unlink(), "embeddings.npy", "missing; an index folder needs"),
        (lambda d: (d / "index.json").write_text("{"), "index.json", "not valid JSON"),
        (lambda d: (d / "index.json").write_text("[]"), "index.json", "must be an object with side"),
        (lambda d: (d / "ids.json").write_text('["a", 2, "c"]'), "ids.json", "must be a JSON list of strings or"),
        (lambda d: (d / "ids.json").write_text('{"a": 1}'), "ids.json", "must be a JSON list of strings or"),
        (lambda d: (d / "ids.json").write_text('["a"]'), "embeddings.npy", "1 ids do not match"),
        (lambda d: np.save(d / "embeddings.npy", np.ones((3, 5))), "embeddings.npy", "shape (3, 5)"),
        (lambda d: np.save(d / "embeddings.npy", np.ones(12)), "embeddings.npy", "shape (12,)"),
        (lambda d: np.save(d / "embeddings.npy", np.array([{"x": 1}] * 3)), "embeddings.npy", "not a readable .npy"),
        (lambda d: (d / "embeddings.npy").write_bytes(b"not numpy"), "embeddings.npy", "not a readable .npy array"),
        (lambda d: _meta(d, side="up"), "index.json", "side must be 'left' or 'right'"),
        (lambda d: _meta(d, count="3"), "index.json", "count and dim must be integers"),
        (lambda d: _meta(d, similarity="cosin"), "index.json", "Did you mean 'cosine'?"),
    ],
)
def test_a_damaged_index_is_a_data_error_naming_the_file_and_the_fix(good, damage, file, words):
    damage(good)
    with pytest.raises(DataError) as err:
        load_index(good)
    message = str(err.value)
    assert message.startswith(str(good / file)) and words in message and "rebuild the index with" in message


def test_an_empty_index_is_refused(tmp_path):
    folder = save_index(Index(np.zeros((0, 4), dtype=np.float32), [], "m", "cosine"), tmp_path)
    with pytest.raises(DataError, match="the index is empty"):
        load_index(folder)


def test_an_id_column_of_mixed_kinds_is_refused_before_encoding(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"text": "a", "id": "x"}\n{"text": "b", "id": 2}\n')

    class Unused:
        head, similarity_name, embedding_dim = None, "cosine", 4  # a model with embeddings (not a cross-encoder)

        def encode(self, *args, **kwargs):
            raise AssertionError("encoded before the ids were checked")

    with pytest.raises(DataError, match="all strings or all integers, this id column holds int, str") as err:
        build_index(Unused(), corpus, tmp_path / "idx", column="text", id_column="id")
    assert str(corpus) in str(err.value) and "'id'" in str(err.value)
