"""Every registered encoder (tower): forward, backward, save/load; plus encoder-specific behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import RELOADED
from textsiam.encoders import CnnEncoder, HfTextEncoder, LstmEncoder, MlpEncoder, TfidfEncoder
from textsiam.models import TwinModel, create_model, load_model
from textsiam.registry import ENCODERS

PARAMETER_FREE = {"tfidf"}  # towers with nothing to train: their model must have no parameters at all
A = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats"]


def _encoder(name: str, tiny_bert_dir, image_files):
    if name == "hf-transformer":
        return HfTextEncoder(str(tiny_bert_dir), pooling="mean"), A
    if name == "mlp":
        return MlpEncoder(in_features=64), list(np.random.default_rng(0).random((4, 8, 8), dtype=np.float32))
    if name == "cnn":
        return CnnEncoder(), image_files(4, size=(28, 28), mode="L")
    if name.startswith("efficientnet-lite"):  # lite0/1/2: one tower class, other backbones
        pytest.importorskip("efficientnet_lite_pytorch", reason="needs the optional extra 'vision'")
        encoder = ENCODERS.build(name, trainable_layers=2, pretrained=False, image={"size": 64})
        return encoder, image_files(4, size=(80, 60), mode="RGB")
    if name == "lstm":
        encoder = LstmEncoder(embedding_dim=8, hidden=6, layers=2, min_count=1, pooling="mean")
        encoder.fit_vocabulary(A)
        return encoder, A
    if name == "tfidf":
        encoder = TfidfEncoder(max_features=64)
        encoder.fit_vocabulary(A)
        return encoder, A
    raise AssertionError(f"add a contract case for encoder {name!r}")


@pytest.mark.parametrize("name", ENCODERS.names())
def test_encoder_contract(name, tiny_bert_dir, image_files, tmp_path):
    """Every registered encoder: forward, backward, finite values, save/load round trip inside a twin."""
    encoder, items = _encoder(name, tiny_bert_dir, image_files)
    model = TwinModel(encoder, similarity="cosine")
    u, v = model(encoder.collate(items), encoder.collate(items[::-1]))
    assert u.shape == (len(items), encoder.dim) and torch.isfinite(u).all()
    if name in PARAMETER_FREE:
        assert not list(model.parameters()) and not u.requires_grad
    else:
        model.score(u, v).sum().backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    np.testing.assert_allclose(
        again.similarity_scores(items, items[::-1]), model.similarity_scores(items, items[::-1]), atol=RELOADED
    )


def test_mlp_encoder_matches_seed_architecture():
    net = MlpEncoder().net
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU"]
    assert all(m.out_features == 128 for m in net if isinstance(m, torch.nn.Linear))
    assert all(m.p == 0.1 for m in net if isinstance(m, torch.nn.Dropout))


def test_normalised_encoder_gives_unit_vectors(tiny_bert_dir):
    model = create_model(str(tiny_bert_dir), encoder_args={"normalize": True, "pooling": "max"})
    norms = model.encode(A).norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones(len(A)))  # float32 defaults: a norm of 32 terms, ~1 ulp


def test_tiny_bert_fixture_knows_its_words(tiny_bert_dir):
    from transformers import AutoTokenizer

    tokens = AutoTokenizer.from_pretrained(tiny_bert_dir).tokenize("a man plays the guitar")
    assert tokens == ["a", "man", "plays", "the", "guitar"]


def test_a_text_longer_than_the_position_table_is_truncated_not_a_crash(tiny_bert_dir):
    from textsiam.models import create_model

    model = create_model(str(tiny_bert_dir))  # 64 positions, max_length 256
    long = " ".join(["guitar"] * 300)
    assert model.left.collate([long])["input_ids"].shape[1] == 64
    assert model.similarity_scores([long], ["a man plays the guitar"]).shape == (1,)
