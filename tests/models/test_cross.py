"""The cross model: pair encoding, symmetric scoring, save/load, no embeddings, training steps, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textsiam.errors import ConfigError
from textsiam.models.cross import CrossModel, NoEmbeddingsError
from textsiam.models.io import build_model, load_model

A = ["a man plays the guitar", "a woman eats pizza", "two children read a book", "the dog runs in the park"]
B = ["a man plays music", "the cat sits", "children read", "a red car on the street"]


def _cross(folder, seed: int = 0, **args) -> CrossModel:
    torch.manual_seed(seed)
    config = {"pair_model": "cross", "encoder": {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}}
    return build_model({**config, **args}).eval()


def test_reads_both_texts_in_one_sequence(tiny_bert_dir):
    model = _cross(tiny_bert_dir)
    feats = model.collate_pairs(A[:1], B[:1])
    tok = model.encoder.tokenizer
    ids = feats["input_ids"][0].tolist()
    assert ids == tok(A[0], B[0])["input_ids"]  # the tokenizer's own pair encoding: [CLS] a [SEP] b [SEP]
    assert ids.count(tok.sep_token_id) == 2 and ids[0] == tok.cls_token_id
    assert set(feats["token_type_ids"][0].tolist()) == {0, 1}


def test_scores_are_probabilities_in_input_order(tiny_bert_dir):
    model = _cross(tiny_bert_dir)
    scores = model.similarity_scores(A, B, batch_size=3)
    one_by_one = np.array([model.similarity_scores([a], [b])[0] for a, b in zip(A, B)])
    # batches pad to their longest pair; padding is masked, so scores differ only by float rounding
    np.testing.assert_allclose(scores, one_by_one, atol=1e-5)
    assert ((scores > 0) & (scores < 1)).all()


def test_symmetric_averages_both_orders(tiny_bert_dir):
    plain, sym = _cross(tiny_bert_dir, seed=1), _cross(tiny_bert_dir, seed=1, symmetric=True)
    with torch.inference_mode():
        ab = plain.forward_pairs(plain.collate_pairs(A, B))
        ba = plain.forward_pairs(plain.collate_pairs(B, A))
        both = sym.forward_pairs(sym.collate_pairs(A, B))
    torch.testing.assert_close(both, (ab + ba) / 2, atol=1e-5, rtol=0)  # same weights; padding is masked
    np.testing.assert_allclose(sym.similarity_scores(A, B), sym.similarity_scores(B, A), atol=1e-6)


def test_save_and_load_give_the_same_scores(tiny_bert_dir, tmp_path):
    model = _cross(tiny_bert_dir, classes=None)
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert isinstance(again, CrossModel) and again.get_config() == model.get_config()
    np.testing.assert_array_equal(again.similarity_scores(A, B), model.similarity_scores(A, B))


def test_multi_class_head_predicts_class_names(tiny_bert_dir, tmp_path):
    classes = ["agree", "disagree", "discuss", "unrelated"]
    model = _cross(tiny_bert_dir, classes=classes, negative="unrelated")
    logits = model.pair_outputs(A, B)
    assert logits.shape == (4, 4)
    assert model.predict(A, B) == [classes[i] for i in logits.argmax(1).tolist()]
    model.save(tmp_path / "m")
    assert load_model(tmp_path / "m").predict(A, B) == model.predict(A, B)


def test_has_no_embeddings(tiny_bert_dir):
    model = _cross(tiny_bert_dir)
    assert model.embedding_dim is None
    with pytest.raises(NoEmbeddingsError, match="a cross-encoder has no embeddings.*twin model"):
        model.encode(A)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"similarity": "dot"}, r"unknown cross model config key\(s\) \['similarity'\]"),
        ({"classes": ["one"]}, "at least 2 distinct"),
        ({"classes": ["x", "y"], "negative": "z"}, "negative 'z' must be one of"),
        ({"symmetric": "yes"}, "symmetric"),
        ({"dropout": 1.5}, r"dropout must be a number in \[0, 1\)"),
    ],
)
def test_bad_options_are_config_errors(tiny_bert_dir, extra, message):
    with pytest.raises(ConfigError, match=message):
        _cross(tiny_bert_dir, **extra)


def test_training_steps_lower_the_loss(tiny_bert_dir):
    """A few steps of the pairs kind on one batch: its loss falls (real gradients reach the head and the body)."""
    from datasets import Dataset

    from textsiam.data import PairData
    from textsiam.distributed import context
    from textsiam.losses import build_loss
    from textsiam.train.config import TrainConfig
    from textsiam.train.distributed import DataParallel
    from textsiam.train.steps import STEPS

    model = _cross(tiny_bert_dir, dropout=0.0)
    data = PairData(Dataset.from_dict({"a": A, "b": B, "label": [1.0, 0.0, 1.0, 0.0]}))
    parallel = DataParallel(context("cpu"))
    step = STEPS[model.training_kind](
        model, build_loss("bce"), TrainConfig(loss="bce"), torch.device("cpu"), parallel, data
    )
    lengths = step.epoch(data)
    assert lengths.tolist() == [len(a) + len(b) for a, b in zip(A, B)]  # both texts in one sequence
    step.to_train_mode()
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(40):
        loss = step.loss(range(4), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    step.close()
    # a random tiny BERT: ~20 steps pass before the first tokens tell pairs apart, then bce falls from 0.69 to < 0.2
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(
    ("loss", "classes", "message"),
    [
        ("cosine", None, "a cross model has none.*'bce'"),
        ("cross-entropy", None, "cross-entropy trains a model with classes"),
        ("bce", ["x", "y"], "trains only with cross-entropy"),
    ],
)
def test_losses_that_do_not_fit_are_refused(tiny_bert_dir, loss, classes, message):
    from textsiam.losses import build_loss
    from textsiam.train.steps import STEPS

    model = _cross(tiny_bert_dir, classes=classes)
    with pytest.raises(ConfigError, match=message):
        STEPS["pairs"].check(model, build_loss(loss), loss)
