"""The trainer with triplet data, GradCache, callbacks, early stopping and trackers (tiny BERT, a few steps)."""

from __future__ import annotations

import json
import random

import pytest
import torch

import textsiam
from tests.helpers.fixtures import WORDS
from textsiam.data import read_pairs
from textsiam.errors import ConfigError
from textsiam.losses import build_loss
from textsiam.models import create_model
from textsiam.train import TrainConfig, Trainer
from textsiam.train.batches import labels_of
from textsiam.train.callbacks import Callback


@pytest.fixture
def triplets(tmp_path):
    rng = random.Random(0)
    rows = [[" ".join(rng.sample(WORDS, 4)) for _ in range(4)] for _ in range(12)]
    path = tmp_path / "triplets.tsv"
    path.write_text("query\tpositive\tnegative_1\tnegative_2\n" + "".join("\t".join(r) + "\n" for r in rows))
    return path


@pytest.fixture
def pairs(tmp_path):
    rng = random.Random(1)
    rows = []
    for i in range(24):
        a = " ".join(rng.sample(WORDS, 5))
        rows.append(f"{a}\t{a if i % 2 else ' '.join(rng.sample(WORDS, 5))}\t{i % 2}\n")
    path = tmp_path / "pairs.tsv"
    path.write_text("sentence1\tsentence2\tlabel\n" + "".join(rows))
    return path


class Spy(Callback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.calls, self.stop_at = [], stop_at

    def on_train_begin(self, settings):
        self.calls.append(("begin", settings))

    def on_log(self, record):
        self.calls.append(("log", record))

    def on_epoch_end(self, epoch, record):
        self.calls.append(("epoch", epoch))
        return epoch == self.stop_at

    def on_train_end(self, summary):
        self.calls.append(("end", summary))


def test_in_batch_losses_score_the_extra_negatives(triplets, tiny_bert_dir, monkeypatch):
    seen = []
    loss = build_loss("multiple-negatives")
    original = type(loss).forward
    monkeypatch.setattr(type(loss), "forward", lambda self, *a: seen.append(a[3].shape) or original(self, *a))
    model = create_model(str(tiny_bert_dir))
    data = read_pairs(triplets)
    Trainer(model, TrainConfig(loss="multiple-negatives", batch_size=5), data, show_progress=False).train()
    assert seen == [(5, 2, model.embedding_dim), (5, 2, model.embedding_dim), (2, 2, model.embedding_dim)]


def test_pair_losses_see_each_negative_as_a_dissimilar_pair(triplets, tiny_bert_dir):
    trainer = Trainer(
        create_model(str(tiny_bert_dir)),
        TrainConfig(loss="contrastive", loss_args={"distance": "cosine"}),
        read_pairs(triplets),
    )
    assert len(trainer.train_data) == 36 and trainer.train_data.labels.tolist().count(0.0) == 24


@pytest.mark.parametrize("negatives", [False, True])
def test_gradcache_through_the_trainer_gives_the_plain_gradients(triplets, pairs, tiny_bert_dir, negatives):
    data = read_pairs(triplets if negatives else pairs)
    grads = []
    for loss, args in (("multiple-negatives", {}), ("cached-multiple-negatives", {"mini_batch_size": 3})):
        torch.manual_seed(0)
        model = create_model(str(tiny_bert_dir))
        trainer = Trainer(model, TrainConfig(loss=loss, loss_args=args, batch_size=10), data, show_progress=False)
        trainer._prepare_towers()
        run, _, _ = trainer._start_run(resume=False)
        labels = labels_of(trainer.train_data, trainer.loss_fn, model)
        run.steps.epoch(trainer.train_data)
        model.eval()  # no dropout: the plain pass and the mini-batches see one network
        rows = list(range(10))
        value = run.steps.loss(rows, labels[rows].to(trainer.device))
        if value.requires_grad:
            value.backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    plain, cached = grads
    assert len(plain) == len(cached) > 0
    # the same float32 gradient summed in another order (see tests/losses/test_loss_cached.py for the bound)
    assert max((a - b).abs().max().item() for a, b in zip(plain, cached)) <= 1e-5


@pytest.mark.filterwarnings("ignore:the dev pairs")  # dev = train pairs: fine for checking the mechanics
def test_a_callback_stops_training_and_the_best_epoch_is_saved(pairs, tmp_path, tiny_bert_dir):
    spy = Spy(stop_at=2)
    out = tmp_path / "run"
    result = textsiam.fit(pairs, out, model=tiny_bert_dir, dev=pairs, epochs=5, lr=1e-3, log_every=1, callbacks=[spy])
    assert result.summary["stopped_after_epoch"] == 2
    assert [c[1] for c in spy.calls if c[0] == "epoch"] == [1, 2]
    assert spy.calls[0][0] == "begin" and spy.calls[0][1]["train"] == str(pairs)  # the run's settings
    assert spy.calls[-1][0] == "end" and "decision" in spy.calls[-1][1]
    steps = [c[1] for c in spy.calls if c[0] == "log" and c[1]["type"] == "step"]
    assert steps and all({"loss", "lr"} <= set(r) for r in steps)
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    evals = [r["metrics"][result.summary["best_metric"]] for r in log if r["type"] == "eval"]
    assert len(evals) == 2 and result.summary["best_value"] == max(evals)
    saved, _ = textsiam.evaluate(textsiam.load(out), pairs)
    assert saved[result.summary["best_metric"]] == pytest.approx(max(evals), abs=1e-6)  # the best epoch, not the last


def test_early_stopping_setting(pairs, tiny_bert_dir):
    model = create_model(str(tiny_bert_dir))
    trainer = Trainer(model, TrainConfig(early_stopping=2), read_pairs(pairs), read_pairs(pairs), show_progress=False)
    (stopper,) = trainer.records.callbacks
    assert stopper.patience == 2 and stopper.metric == trainer.metric
    with pytest.raises(ConfigError, match="TrainConfig: early_stopping must be a positive integer or null, got 0"):
        TrainConfig(early_stopping=0)


@pytest.mark.filterwarnings("ignore:the dev pairs")
def test_report_to_tensorboard_from_fit(pairs, tmp_path, tiny_bert_dir):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    textsiam.fit(pairs, out, model=tiny_bert_dir, dev=pairs, epochs=2, log_every=1, report_to=["tensorboard"])
    events = EventAccumulator(str(out / "runs"))
    events.Reload()
    assert len(events.Scalars("train/loss")) == 4 and len(events.Scalars("dev/roc_auc")) == 2


def test_gradcache_replays_transformer_dropout(pairs, tiny_bert_dir):
    """In train mode (dropout on) the cached gradients equal those of the plain loss over the same mini-batches
    embedded in the same order: HF attention must draw the same masks in the cached loss's two passes."""
    data = read_pairs(pairs)
    grads = []
    for cached in (False, True):
        torch.manual_seed(0)
        model = create_model(str(tiny_bert_dir))
        loss = "cached-multiple-negatives" if cached else "multiple-negatives"
        args = {"mini_batch_size": 4} if cached else {}
        trainer = Trainer(model, TrainConfig(loss=loss, loss_args=args), data, show_progress=False)
        trainer._prepare_towers()
        run, _, _ = trainer._start_run(resume=False)
        labels = labels_of(trainer.train_data, trainer.loss_fn, model)[:10]
        run.steps.epoch(trainer.train_data)
        model.train()
        torch.manual_seed(5)
        if cached:
            run.steps.loss(list(range(10)), labels)
        else:  # the same mini-batches in the same order, with graph, then the plain loss over all of them
            parts = [run.steps.embed(list(range(i, min(i + 4, 10)))) for i in range(0, 10, 4)]
            u, v = (torch.cat(side) for side in zip(*parts))
            trainer.loss_fn(u, v, labels).backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    # the same float32 gradient summed in another order (see tests/losses/test_loss_cached.py for the bound)
    assert max((a - b).abs().max().item() for a, b in zip(*grads)) <= 1e-5
