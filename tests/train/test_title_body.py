"""Title-body models end to end: tower vocabularies fitted by the trainer, the multi-class head, tower options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from title_body import write_corpus

from textsiam.api import evaluate
from textsiam.data import read_pairs
from textsiam.encoders import LstmEncoder, MlpEncoder, TfidfEncoder
from textsiam.errors import ConfigError
from textsiam.models import PseudoSiameseModel, TwinModel, load_model
from textsiam.models.base import to_device
from textsiam.train import TrainConfig, Trainer
from textsiam.train.towers import SideEmbedder, param_groups

STANCE_HEAD = {
    "name": "pair-classifier",
    "args": {"classes": ["unrelated", "discuss", "agree", "disagree"], "negative": "unrelated", "hidden": 32},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fnc")
    train = read_pairs(write_corpus(folder, "train", seed=0))
    test = read_pairs(write_corpus(folder, "competition_test", n_bodies=12, n_stances=120, seed=1))
    return train, test


def test_stance_head_learns_the_four_classes_and_saves_its_class_names(corpus, tmp_path):
    train, test = corpus
    torch.manual_seed(0)
    model = PseudoSiameseModel(TfidfEncoder(max_features=64), TfidfEncoder(max_features=64), 16, head=STANCE_HEAD)
    cfg = TrainConfig(loss="cross-entropy", epochs=15, batch_size=16, lr=1e-2, warmup_ratio=0.0)
    Trainer(model, cfg, train, None, tmp_path, show_progress=False).train()
    metrics, scores = evaluate(model, test)
    assert metrics["classes"]["class_accuracy"] > 0.9 and metrics["classes"]["fnc_relative"] > 0.9
    assert metrics["roc_auc"] > 0.95  # the head's "not unrelated" log-odds rank related above unrelated
    again = load_model(tmp_path)
    assert again.classes == ["unrelated", "discuss", "agree", "disagree"]
    assert again.predict(test.a[:5], test.b[:5]) == model.predict_classes(test.a[:5], test.b[:5])
    np.testing.assert_allclose(again.similarity_scores(test.a, test.b), scores, atol=1e-5)


def test_tfidf_twin_trains_nothing_and_fits_on_training_texts_only(corpus, tmp_path):
    train, test = corpus
    model = TwinModel(TfidfEncoder(max_features=200))
    summary = Trainer(model, TrainConfig(), train, test, tmp_path, show_progress=False).train()
    assert summary["steps"] == 0 and summary["trainable_parameters"] == 0 and summary["best_value"] > 0.9
    train_words = {w for text in train.a + train.b for w in text.lower().replace(".", " ").split()}
    assert set(model.encoder.vocabulary_) <= train_words
    assert load_model(tmp_path).encoder.vocabulary_ == model.encoder.vocabulary_


def test_lstm_title_tower_beside_a_frozen_body_tower(corpus, tmp_path):
    train, _ = corpus
    torch.manual_seed(0)
    body = LstmEncoder(embedding_dim=8, hidden=8, min_count=1)
    body.fit_vocabulary(train.b)  # a body tower prepared elsewhere: the trainer keeps its vocabulary
    vocab, frozen = list(body.vocab.tokens), {k: v.clone() for k, v in body.state_dict().items()}
    model = PseudoSiameseModel(LstmEncoder(embedding_dim=8, hidden=8, min_count=1), body, projection_dim=8)
    cfg = TrainConfig(loss="online-contrastive", epochs=2, batch_size=16, lr=1e-3, towers={"right": {"freeze": True}})
    trainer = Trainer(model, cfg, train, None, tmp_path, show_progress=False)
    rows, forward = [], body.forward
    body.forward = lambda features: rows.append(len(features["input_ids"])) or forward(features)
    trainer.train()
    assert model.left.vocab is not None and body.vocab.tokens == vocab
    assert all(torch.equal(v, body.state_dict()[k]) for k, v in frozen.items())  # frozen: unchanged
    assert sum(rows) == len(set(train.b))  # 2 epochs: each body through the tower once
    assert len(trainer._embedder.caches["right"]) == 0  # and nothing kept after the run
    dev_a, dev_b = train.a[:40], train.b[:40]
    np.testing.assert_allclose(  # dev scores through the cache = the model's own scoring
        trainer._embedder.dev_scores(dev_a, dev_b, 16), model.similarity_scores(dev_a, dev_b), atol=1e-5
    )
    log = (tmp_path / "train_log.jsonl").read_text()
    assert '"type": "fit_vocabulary"' in log and '"left"' in log


def test_side_embedder_without_cache_runs_every_step_through_the_given_net(corpus):
    train, _ = corpus  # under torchrun the trainer passes the DDP-wrapped model and no cache
    model = PseudoSiameseModel(LstmEncoder(min_count=1), LstmEncoder(min_count=1), projection_dim=8).eval()
    model.fit_vocabulary(train.a, train.b)
    model.right.requires_grad_(False)
    assert set(SideEmbedder(model, torch.device("cpu"), train.a).caches) == {"right"}  # default: frozen is cached
    calls = []

    class Spy(torch.nn.Module):
        def forward(self, fa, fb):
            calls.append(len(fa["input_ids"]))
            return model(fa, fb)

    embedder = SideEmbedder(model, torch.device("cpu"), train.a, net=Spy(), cache=False)
    a, b = train.a[:4], train.b[:4]
    u, v = embedder(a, b)
    assert embedder.caches == {} and calls == [4]
    cpu = torch.device("cpu")
    torch.testing.assert_close(v, model.embed(to_device(model.right.collate(b), cpu), "right"))


def test_tower_lr_multipliers_make_their_own_param_groups():
    model = PseudoSiameseModel(MlpEncoder(hidden=8), MlpEncoder(hidden=8), projection_dim=4)
    groups = param_groups(model, 1e-3, 0.01, {"left": {"lr_multiplier": 50}})
    by_lr = {}
    for g in groups:
        by_lr.setdefault(g["lr"], set()).update(id(p) for p in g["params"])
    assert by_lr[1e-3 * 50] == {id(p) for p in model.left.parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_bad_tower_options_are_config_errors():
    with pytest.raises(ConfigError, match=r"towers\['left'\].lr_multiplier must be a number > 0"):
        TrainConfig(towers={"left": {"lr_multiplier": 0}})
    with pytest.raises(ConfigError, match="keys from"):
        TrainConfig(towers={"left": {"frozen": True}})
    model = TwinModel(MlpEncoder())
    from textsiam.train.towers import apply_freeze

    with pytest.raises(ConfigError, match=r"names \['left'\], but this model's towers are \['encoder'\]"):
        apply_freeze(model, {"left": {"freeze": True}})


def test_cross_entropy_needs_a_class_head(corpus):
    train, _ = corpus
    with pytest.raises(ConfigError, match="cross-entropy trains a multi-class head"):
        Trainer(TwinModel(TfidfEncoder()), TrainConfig(loss="cross-entropy"), train, show_progress=False)
