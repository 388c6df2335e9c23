"""Title-body models end to end: tower vocabularies fitted by the trainer, the multi-class head, tower options."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import BATCHED
from tests.helpers.title_body import write_corpus
from textsiam.api import evaluate
from textsiam.data import PairData, read_pairs
from textsiam.encoders import LstmEncoder, MlpEncoder, TfidfEncoder
from textsiam.errors import ConfigError, DataError
from textsiam.eval.classes import fnc_score
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
    np.testing.assert_allclose(again.similarity_scores(test.a, test.b), scores, atol=BATCHED)


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
    assert len(trainer.run.steps.embedder.caches["right"]) == 0  # and nothing kept after the run
    dev_a, dev_b = train.a[:40], train.b[:40]
    np.testing.assert_allclose(  # dev scores through the cache = the model's own scoring
        trainer.run.steps.embedder.dev_outputs(dev_a, dev_b, 16).numpy(),
        model.similarity_scores(dev_a, dev_b),
        atol=BATCHED,
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
    expected = model.embed(to_device(model.right.collate(b), cpu), "right")
    torch.testing.assert_close(v, expected, atol=BATCHED, rtol=BATCHED)


def test_tower_lr_multipliers_make_their_own_param_groups():
    model = PseudoSiameseModel(MlpEncoder(hidden=8), MlpEncoder(hidden=8), projection_dim=4)
    groups = param_groups(model, 1e-3, 0.01, {"left": {"lr_multiplier": 50}})
    by_lr = {}
    for g in groups:
        by_lr.setdefault(g["lr"], set()).update(id(p) for p in g["params"])
    assert by_lr[1e-3 * 50] == {id(p) for p in model.left.parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_bad_tower_options_are_config_errors():
    towers = r"TrainConfig: towers\['left'\]"
    with pytest.raises(ConfigError, match=towers + r"\['lr_multiplier'\] must be a finite number > 0"):
        TrainConfig(towers={"left": {"lr_multiplier": 0}})
    with pytest.raises(ConfigError, match=towers + r": unknown option\(s\) \['frozen'\]; it takes \['freeze', "):
        TrainConfig(towers={"left": {"frozen": True}})
    model = TwinModel(MlpEncoder())
    from textsiam.train.towers import apply_freeze

    with pytest.raises(ConfigError, match=r"names \['left'\], but this model's towers are \['encoder'\]"):
        apply_freeze(model, {"left": {"freeze": True}})


def test_cross_entropy_needs_a_class_head(corpus):
    train, _ = corpus
    with pytest.raises(ConfigError, match="cross-entropy trains a multi-class head"):
        Trainer(TwinModel(TfidfEncoder()), TrainConfig(loss="cross-entropy"), train, show_progress=False)


def _stance_model(head: dict = STANCE_HEAD) -> PseudoSiameseModel:
    torch.manual_seed(0)
    return PseudoSiameseModel(TfidfEncoder(max_features=64), TfidfEncoder(max_features=64), 16, head=head)


STANCE_CFG = {"loss": "cross-entropy", "batch_size": 16, "lr": 1e-2, "warmup_ratio": 0.0}


def test_stance_head_epoch_is_chosen_by_the_fnc_score_on_dev(corpus, tmp_path):
    train, dev = corpus
    model = _stance_model()
    summary = Trainer(model, TrainConfig(**STANCE_CFG, epochs=4), train, dev, tmp_path, show_progress=False).train()
    evals = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    evals = [r["metrics"] for r in evals if r["type"] == "eval"]
    assert len(evals) == 4 and {"fnc_relative", "macro_f1", "class_accuracy", "roc_auc"} <= set(evals[0])
    assert summary["best_metric"] == "fnc_relative"
    assert summary["best_value"] == max(m["fnc_relative"] for m in evals)
    pred = model.predict_classes(dev.a, dev.b)  # the model left in memory is the best epoch's
    assert fnc_score(dev.class_labels, pred)["fnc_relative"] == pytest.approx(
        summary["best_value"], rel=1e-12
    )  # counts


@pytest.mark.parametrize(("eval_metric", "best_epoch"), [(None, 2), ("roc_auc", 1)])
def test_stance_head_epoch_follows_the_chosen_metric(corpus, monkeypatch, eval_metric, best_epoch):
    import textsiam.train.evaluation as evaluation_module

    train, dev = corpus
    real_report, fnc, auc = evaluation_module.class_report, iter([0.5, 0.9, 0.6]), iter([0.99, 0.5, 0.7])
    states = []

    def scripted_report(gold, pred, classes):  # epoch 2 has the best FNC score ...
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        return real_report(gold, pred, classes) | {"fnc_relative": next(fnc)}

    monkeypatch.setattr(evaluation_module, "class_report", scripted_report)
    monkeypatch.setattr(evaluation_module, "evaluate_scores", lambda s, d: {"roc_auc": next(auc)})  # ... epoch 1 AUC
    model = _stance_model()
    cfg = TrainConfig(**STANCE_CFG, epochs=3, eval_metric=eval_metric)
    summary = Trainer(model, cfg, train, dev, show_progress=False).train()
    assert summary["best_metric"] == (eval_metric or "fnc_relative")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in states[best_epoch - 1].items())


def test_selection_metrics_of_a_multi_class_head(corpus):
    train, dev = corpus
    cfg = TrainConfig(**STANCE_CFG, eval_metric="spearman")
    with pytest.raises(ConfigError, match=r"'spearman' does not apply to a multi-class head .*'fnc_relative'"):
        Trainer(_stance_model(), cfg, train, dev, show_progress=False)
    three = {"name": "pair-classifier", "args": {"classes": ["x", "y", "z"], "negative": "x", "hidden": 8}}
    cfg = TrainConfig(**STANCE_CFG, eval_metric="fnc_relative")
    with pytest.raises(ConfigError, match=r"use one of \('macro_f1', 'class_accuracy', 'roc_auc'"):
        Trainer(_stance_model(three), cfg, train, dev, show_progress=False)
    no_negative = {"name": "pair-classifier", "args": {**STANCE_HEAD["args"], "negative": None}}
    with pytest.raises(ConfigError, match=r"use one of \('fnc_relative', 'macro_f1', 'class_accuracy'\)$"):
        Trainer(_stance_model(no_negative), TrainConfig(**STANCE_CFG, eval_metric="roc_auc"), train, dev)
    assert Trainer(_stance_model(no_negative), TrainConfig(**STANCE_CFG), train, dev).metric == "fnc_relative"
    no_class = PairData(dev.dataset.remove_columns("class"), source="dev.tsv")
    with pytest.raises(DataError, match="no class column"):
        Trainer(_stance_model(), TrainConfig(**STANCE_CFG), train, no_class)
