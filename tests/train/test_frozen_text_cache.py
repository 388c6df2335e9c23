"""A frozen transformer text tower is run once per distinct text per training run: one cache (the tower's own
``output_cache``) serves the training steps, the per-epoch dev scoring and the tower's ``collate``."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.fixtures import make_coco
from textsiam.data import read_pairs
from textsiam.encoders import HfTextEncoder, LstmEncoder
from textsiam.models import PseudoSiameseModel
from textsiam.registry import ENCODERS
from textsiam.train import TrainConfig, Trainer

PAIRS = [
    ("a man plays the guitar", "a man is playing music", 1.0),
    ("a dog runs in the park", "a cat eats food", 0.0),
    ("two children read a book", "children are reading", 1.0),
    ("the cat eats", "a red car on the street", 0.0),
    ("a woman plays piano", "a woman is playing music", 1.0),
    ("people ride bikes", "a man plays the guitar", 0.0),
]


def _frozen_text_tower(tiny_bert_dir) -> tuple[HfTextEncoder, list[int], list[set[str]]]:
    """A frozen tiny-BERT tower, the row counts of every run of its transformer (padded or unpadded), and the texts
    its cache held each time the cache was switched off (the end of a training run)."""
    tower = HfTextEncoder(str(tiny_bert_dir), trainable_layers=0)
    calls: list[int] = []
    held: list[set[str]] = []
    hidden_states, cache_outputs = tower.hidden_states, tower.cache_outputs

    def counting(inputs):
        calls.append(int(inputs["input_ids"].shape[0]))  # (rows, seq): one row per text
        return hidden_states(inputs)

    def recording(on: bool) -> None:
        if not on:
            held.append(set(tower.output_cache.store))
        cache_outputs(on)

    tower.hidden_states, tower.cache_outputs = counting, recording
    return tower, calls, held


def _pairs(tmp_path, rows) -> object:
    path = tmp_path / "pairs.tsv"
    path.write_text("text_a\ttext_b\tlabel\n" + "".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows))
    return read_pairs(path)


def test_text_training_with_dev_runs_each_distinct_text_once(tiny_bert_dir, tmp_path):
    tower, calls, held = _frozen_text_tower(tiny_bert_dir)
    (tmp_path / "t").mkdir(), (tmp_path / "d").mkdir()
    train, dev = _pairs(tmp_path / "t", PAIRS[:4] * 3), _pairs(tmp_path / "d", PAIRS[2:])
    torch.manual_seed(0)
    model = PseudoSiameseModel(LstmEncoder(embedding_dim=8, hidden=8, min_count=1), tower, projection_dim=4)
    trainer = Trainer(model, TrainConfig(epochs=3, batch_size=4, warmup_ratio=0.0), train, dev, None, False)
    trainer.train()
    assert trainer.run.steps.embedder.caches["right"] is tower.output_cache  # one cache, not a second copy
    distinct = set(train.b) | set(dev.b)
    assert sum(calls) == len(distinct) and held == [distinct]  # 3 epochs of steps + 3 dev passes
    assert len(tower.output_cache) == 0  # dropped at the end of the run


def test_frozen_tower_keeps_nothing_outside_a_training_run(tiny_bert_dir):
    """A served or predicting model sees new texts all the time: its memory must not grow with them."""
    tower, calls, _ = _frozen_text_tower(tiny_bert_dir)
    texts = [a for a, _, _ in PAIRS]
    first = tower(tower.collate(texts))
    again = tower(tower.collate(texts))
    assert len(tower.output_cache) == 0 and sum(calls) == 2 * len(texts)
    torch.testing.assert_close(first, again, atol=0, rtol=0)  # the same batch twice: the same arithmetic


@pytest.mark.parametrize("loss", ["infonce", "contrastive"])
def test_image_text_training_runs_each_distinct_caption_once(tiny_bert_dir, tmp_path, loss):
    """Image-caption pairs are drawn anew each epoch (no trainer-side cache): the tower's own cache still serves
    the steps, and the dev captions are scored from it each epoch."""
    tower, calls, held = _frozen_text_tower(tiny_bert_dir)
    data = read_pairs(make_coco(tmp_path / "coco", n_images=6), format="coco", split="train2017")
    train, dev = data.split(0.34, seed=0)
    torch.manual_seed(0)
    image = ENCODERS.build("cnn", input_size=16, channels=[4], hidden=8, image={"size": 16})
    model = PseudoSiameseModel(image, tower, projection_dim=4)
    args = {"distance": "cosine"} if loss == "contrastive" else {}
    cfg = TrainConfig(loss=loss, loss_args=args, epochs=3, batch_size=4, warmup_ratio=0.0)
    trainer = Trainer(model, cfg, train, dev, None, False)
    trainer.train()
    assert (
        set(trainer.run.steps.embedder.caches) == {"right"}
        and trainer.run.steps.embedder.caches["right"] is tower.output_cache
    )
    assert len(held) == 1 and set(dev.b) <= held[0]
    assert sum(calls) == len(held[0])  # each caption drawn or scored ran through the tower once
