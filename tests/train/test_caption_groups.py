"""Captions of one image are positives of each other in training: the image's identity travels with each batch
into a loss that ``takes_groups`` (infonce); data where every pair is its own group trains exactly as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import make_flickr8k
from textsiam.api import load_data
from textsiam.data import read_pairs
from textsiam.encoders import LstmEncoder
from textsiam.losses import build_loss
from textsiam.models import PseudoSiameseModel
from textsiam.registry import ENCODERS
from textsiam.train import TrainConfig, Trainer
from textsiam.train.batches import epoch_batches


def _model() -> PseudoSiameseModel:
    torch.manual_seed(0)
    image = ENCODERS.build("cnn", input_size=16, channels=[4], hidden=8, image={"size": 16})
    return PseudoSiameseModel(image, LstmEncoder(embedding_dim=8, hidden=8, min_count=1), projection_dim=4)


def _train_spying(data, batch_size: int, epochs: int = 1, model=None) -> tuple[list[tuple], Trainer]:
    """Train with infonce and record each call of the loss: (u, v, labels, keyword arguments, the loss)."""
    loss_fn = build_loss("infonce")
    calls: list[tuple] = []

    def record(module, args, kwargs, output):
        u, v, labels = (t.detach().clone() for t in args)
        calls.append((u, v, labels, dict(kwargs), output.detach().clone()))

    loss_fn.register_forward_hook(record, with_kwargs=True)
    cfg = TrainConfig(loss="infonce", epochs=epochs, batch_size=batch_size, warmup_ratio=0.0, seed=0)
    trainer = Trainer(model or _model(), cfg, data, None, None, False, loss_fn=loss_fn)
    trainer.train()
    return calls, trainer


def _caption_table(tmp_path, image_files) -> tuple[object, list[str]]:
    """An image-csv table with several captions for some images: 4 images, 8 caption rows."""
    files = image_files(4, size=(20, 20))
    owner = [0, 0, 0, 1, 1, 2, 3, 3]
    table = tmp_path / "caps.images.csv"
    table.write_text(
        "image,text,label\n" + "".join(f"{files[i]},picture {i} caption {k},1\n" for k, i in enumerate(owner))
    )
    return read_pairs(table), [files[i] for i in owner]


def test_two_captions_of_one_image_in_a_batch_are_positives(tmp_path, image_files):
    data, images = _caption_table(tmp_path, image_files)
    assert data.positive_groups.tolist() == [0, 0, 0, 1, 1, 2, 3, 3]  # one id per image, by its file
    calls, _ = _train_spying(data, batch_size=len(images))  # one batch: every caption of every image
    ((u, v, labels, kwargs, trained),) = calls
    groups = kwargs["groups"]
    # by hand: the batch is the epoch's random order (seed 0 * 1000 + epoch 1), and each row's image is the table's
    (order,) = epoch_batches([1] * len(images), len(images), 1, grouped=False)
    by_hand = np.unique([images[r] for r in order], return_inverse=True)[1]
    assert (groups[:, None] == groups[None, :]).tolist() == (by_hand[:, None] == by_hand[None, :]).tolist()
    assert sorted(np.bincount(by_hand).tolist()) == [1, 2, 2, 3] and order != sorted(order)
    reference = build_loss("infonce")  # the same initial temperature, 0.07
    grouped = reference(u, v, labels, groups=torch.as_tensor(by_hand))
    torch.testing.assert_close(trained, grouped, atol=0, rtol=0)  # the same tensors through the same arithmetic
    plain = reference(u, v, labels)
    assert abs(plain.item() - grouped.item()) > 1e-3  # 5.30 -> 4.06 here: the false negatives leave the loss


def _text_pairs(tmp_path):
    path = tmp_path / "pairs.tsv"
    rows = [(f"left text {i} w{i % 3}", f"right text {i} z{i % 2}", 1) for i in range(8)]
    path.write_text("text_a\ttext_b\tlabel\n" + "".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows))
    return read_pairs(path)


def _twin_lstm() -> PseudoSiameseModel:
    torch.manual_seed(0)
    return PseudoSiameseModel(
        LstmEncoder(embedding_dim=8, hidden=8, min_count=1),
        LstmEncoder(embedding_dim=8, hidden=8, min_count=1),
        projection_dim=4,
    )


@pytest.mark.parametrize("kind", ["text", "one-caption-per-image"])
def test_data_where_each_pair_is_its_own_group_trains_as_before(tmp_path, kind):
    """Text pairs (no groups) and Flickr8k's one caption per image per epoch (every group of one pair): the loss is
    called as before groups existed, ``loss(u, v, labels)``, and gives the plain InfoNCE bit for bit."""
    if kind == "text":
        data = _text_pairs(tmp_path)
        assert data.positive_groups is None
    else:
        root, _ = make_flickr8k(tmp_path / "flickr8k", stray=False)
        data = load_data(root, split="train")
        assert data.positive_groups is not None  # every caption pair names its image; an epoch draws one per image
    calls, _ = _train_spying(data, batch_size=4, epochs=2, model=_twin_lstm() if kind == "text" else None)
    assert calls
    assert all(kwargs == {} for *_, kwargs, _ in calls)  # no groups keyword: the call as before groups existed
    u, v, labels, _, trained = calls[0]  # the first step: the initial temperature on both sides
    torch.testing.assert_close(trained, build_loss("infonce")(u, v, labels), atol=0, rtol=0)


def test_random_batches_put_captions_of_one_image_together_at_chance():
    """The epoch's random batches neither avoid nor force two captions of one image in a batch: over many epochs a
    given pair of captions shares a batch with the chance rate (B - 1) / (N - 1) of a uniform permutation."""
    n, batch, epochs = 40, 8, 2000
    together = 0
    for seed in range(epochs):
        for idx in epoch_batches([1] * n, batch, seed, grouped=False):
            together += 0 in idx and 1 in idx  # rows 0 and 1: two captions of one image
    rate, chance = together / epochs, (batch - 1) / (n - 1)  # 7 / 39 = 0.179
    # binomial standard error sqrt(0.179 * 0.821 / 2000) = 0.0086: 4 of them (0.034) for a fixed-seed test
    assert abs(rate - chance) < 0.034
