"""Resumable checkpoints never unpickle arbitrary objects: a foreign optimizer file is a clear refusal."""

from __future__ import annotations

import argparse

import pytest
import torch

from textsiam.errors import ConfigError
from textsiam.models import create_model
from textsiam.train import checkpoint


def _checkpoint(tmp_path):
    model = create_model("digits-mlp-twin", seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    checkpoint.save(tmp_path, model, optimizer, scheduler, {"config": {"lr": 1e-3}, "epoch": 1})
    return model, optimizer, scheduler


def test_round_trip_of_a_checkpoint_textsiam_wrote(tmp_path):
    model, optimizer, scheduler = _checkpoint(tmp_path)
    state = checkpoint.load(tmp_path, model, optimizer, scheduler, {"lr": 1e-3})
    assert state["epoch"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"optimizer": argparse.Namespace(lr=1)}, "holds pickled Python objects, which textsiam never loads"),
        (b"not a torch file at all", "damaged"),
        ({"optimizer": {}}, "lacks the optimizer/scheduler/RNG state"),
    ],
)
def test_a_pickled_or_damaged_optimizer_file_is_refused(tmp_path, content, message):
    model, optimizer, scheduler = _checkpoint(tmp_path)
    optim = tmp_path / "checkpoint" / "optim.pt"
    if isinstance(content, bytes):
        optim.write_bytes(content)
    else:
        torch.save(content, optim)  # a full pickle: weights_only loading must refuse the Namespace
    with pytest.raises(ConfigError, match=rf"optim.pt .*{message}.*without --resume"):
        checkpoint.load(tmp_path, model, optimizer, scheduler, {"lr": 1e-3})
