"""The base-size backbone all-mpnet-base-v2 (offline, from the five pieces of textsiam[pretrained-base]), and MPNet
towers: a cross model over MPNet exports to a sequence-classification folder with the same logits (the unpadded
MPNet forward: tests/encoders/test_packed_bert.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import make_tiny_mpnet, needs_mpnet
from textsiam.encoders import pretrained
from textsiam.errors import ModelNotFoundError
from textsiam.models.io import build_model, create_model

WORDS = ["a man plays the guitar", "a woman eats pizza", "children read a book", "the dog runs"]


def test_missing_pieces_name_the_extra(monkeypatch):
    spec = pretrained.SPLIT_ZIPS["all-mpnet-base-v2"]
    monkeypatch.setitem(
        pretrained.SPLIT_ZIPS, "all-mpnet-base-v2", type(spec)(**{**vars(spec), "pip_names": ("no-such-dist-x",) * 5})
    )
    with pytest.raises(ModelNotFoundError, match=r"textsiam\[pretrained-base\]"):
        pretrained.resolve_pretrained("all-mpnet-base-v2")


def test_cross_over_mpnet_exports_to_sequence_classification(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from textsiam.deploy.export import export_model

    (tmp_path / "m").mkdir()
    folder = make_tiny_mpnet(tmp_path / "m")
    torch.manual_seed(2)
    enc = {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}
    model = build_model({"pair_model": "cross", "encoder": enc}).eval()
    a, b = WORDS, WORDS[::-1]
    feats = model.collate_pairs(a, b)
    assert "token_type_ids" not in feats  # MPNet's pair encoding: <s> a </s></s> b </s>
    export_model(model, tmp_path / "hf", format="hf")
    hf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    tok = AutoTokenizer.from_pretrained(tmp_path / "hf")
    with torch.inference_mode():
        logits = hf(**tok(a, b, padding=True, return_tensors="pt")).logits[:, 0]
        ours = model.forward_pairs(feats)
    torch.testing.assert_close(logits, ours, atol=1e-5, rtol=0)  # the same weights and ops: float rounding only


@needs_mpnet
@pytest.mark.slow
def test_packaged_mpnet_embeds_like_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    folder = pretrained.resolve_pretrained("all-mpnet-base-v2")
    assert pretrained.resolve_pretrained("sentence-transformers/all-mpnet-base-v2") == folder
    model = create_model("all-mpnet-base-v2")
    assert model.embedding_dim == 768 and model.encoder.normalize and model.encoder.max_length == 384
    ours = model.encode(WORDS).numpy()
    theirs = st.SentenceTransformer(str(folder), device="cpu").encode(WORDS)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)  # the same weights and pooling; float32 rounding
    preset = create_model("mpnet-twin")
    assert preset.encoder._packs  # MPNet trains unpadded (tests/encoders/test_packed_bert.py)
