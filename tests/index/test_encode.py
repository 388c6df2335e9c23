from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from tests.helpers.fixtures import BATCHED
from textsiam.encoders import HfTextEncoder, MlpEncoder
from textsiam.errors import ConfigError, DataError
from textsiam.index import encode_file
from textsiam.index.arrays import read_embeddings
from textsiam.models import PseudoSiameseModel, TwinModel, create_model

TEXTS = [
    "a man plays the guitar",
    "a dog",
    "two children read a book in the park with the dog and the cat",
    "the cat eats",
    "a woman plays piano",
    "a dog is running",
    "a child sits",
    "a red car on the street",
]


def test_encode_equals_one_text_at_a_time_in_input_order(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir))
    together = model.encode(TEXTS, batch_size=3)
    alone = torch.cat([model.encode([t]) for t in TEXTS])
    torch.testing.assert_close(together, alone, atol=BATCHED, rtol=BATCHED)


def test_text_batches_cover_every_position_once_and_trim_padding(tiny_bert_dir):
    enc = HfTextEncoder(str(tiny_bert_dir))
    seen, widths = [], []
    for idx, feats in enc.batches(TEXTS, 3):
        seen += idx.tolist()
        widths.append(feats["input_ids"].shape[1])
        assert bool(feats["attention_mask"][:, -1].any())  # no all-padding column: each batch cut to its longest
    assert sorted(seen) == list(range(len(TEXTS)))
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]


def test_generic_tower_batches_through_collate():
    torch.manual_seed(0)
    model = TwinModel(MlpEncoder(in_features=4, hidden=8, n_layers=2, dropout=0.0))
    items = [np.random.rand(4).astype(np.float32) for _ in range(5)]
    one_by_one = torch.cat([model.encode([x]) for x in items])
    torch.testing.assert_close(model.encode(items, batch_size=2), one_by_one, atol=BATCHED, rtol=BATCHED)


def test_encode_keeps_training_mode_and_handles_nothing(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir)).train()
    assert model.encode([]).shape == (0, 32)
    model.encode(TEXTS[:2])
    assert model.training


@pytest.mark.parametrize("suffix", ["npy", "parquet"])
def test_encode_file_streams_into_the_same_rows(tiny_bert_dir, tmp_path, suffix):
    model = create_model(str(tiny_bert_dir))
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(TEXTS) + "\n")
    out = tmp_path / f"emb.{suffix}"
    assert encode_file(model, src, out, batch_size=2, chunk_size=3) == len(TEXTS)
    got = read_embeddings(out)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(got, model.encode(TEXTS).numpy(), atol=BATCHED)  # streamed chunks
    if suffix == "parquet":
        assert pq.read_table(out).column_names == ["embedding"]
    else:
        assert np.load(out, allow_pickle=False).shape == (len(TEXTS), 32)  # a plain .npy for any reader


def test_pseudo_model_encodes_with_the_chosen_tower(tiny_bert_dir, tmp_path):
    model = PseudoSiameseModel(HfTextEncoder(str(tiny_bert_dir)), HfTextEncoder(str(tiny_bert_dir), pooling="cls"), 6)
    src = tmp_path / "t.txt"
    src.write_text("\n".join(TEXTS))
    encode_file(model, src, tmp_path / "r.npy", side="right")
    np.testing.assert_allclose(np.load(tmp_path / "r.npy"), model.encode(TEXTS, side="right").numpy(), atol=BATCHED)
    left = model.encode(TEXTS, side="left").numpy()
    assert not np.allclose(np.load(tmp_path / "r.npy"), left, atol=1e-3)  # the other tower: O(0.1) apart


def test_a_bad_row_leaves_no_output_behind(tiny_bert_dir, tmp_path):
    model = create_model(str(tiny_bert_dir))
    src = tmp_path / "t.txt"
    src.write_text("\n".join(TEXTS[:4] + ["   "] + TEXTS[4:]))
    out = tmp_path / "emb.npy"
    with pytest.raises(DataError, match="row 4"):
        encode_file(model, src, out, chunk_size=2)
    assert list(tmp_path.iterdir()) == [src]
    with pytest.raises(ConfigError, match=".npy or .parquet"):
        encode_file(model, src, tmp_path / "emb.csv")
