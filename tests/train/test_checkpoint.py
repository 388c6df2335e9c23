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
    checkpoint.save(tmp_path, model, optimizer, scheduler, {"config": {"lr": 1e-3}, "epoch": 1, "step": 1})
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


def test_the_loss_weights_round_trip_and_their_absence_is_refused(tmp_path):
    from textsiam.losses import build_loss

    model = create_model("digits-mlp-twin", seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    loss = build_loss("infonce", temperature=0.05)
    checkpoint.save(tmp_path / "a", model, optimizer, scheduler, {"config": {}, "epoch": 1, "step": 1}, loss)
    restored = build_loss("infonce", temperature=0.5)
    checkpoint.load(tmp_path / "a", model, optimizer, scheduler, {}, restored)
    assert restored.scale == pytest.approx(20.0, rel=1e-6)  # exp(log(20)) in float32: an ulp or two
    state = {"config": {}, "epoch": 1, "step": 1}
    checkpoint.save(tmp_path / "b", model, optimizer, scheduler, state)  # no loss weights
    with pytest.raises(ConfigError, match="lacks the loss's own weights"):
        checkpoint.load(tmp_path / "b", model, optimizer, scheduler, {}, build_loss("infonce"))
    checkpoint.load(tmp_path / "b", model, optimizer, scheduler, {}, build_loss("contrastive"))  # nothing to restore


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json {", "is not valid JSON"),
        ('["a list"]', "is not a checkpoint state textsiam wrote"),
        ('{"epoch": "1", "step": 3}', "is not a checkpoint state textsiam wrote"),
        ('{"epoch": 1, "step": 3, "config": 5}', "'config' must be an object"),
    ],
)
def test_a_state_json_that_is_not_a_state_is_a_config_error_naming_the_file_and_the_fix(tmp_path, content, message):
    model, optimizer, scheduler = _checkpoint(tmp_path)
    (tmp_path / "checkpoint" / "state.json").write_text(content)
    with pytest.raises(ConfigError, match=rf"state.json.*{message}.*--overwrite \(no --resume\)"):
        checkpoint.load(tmp_path, model, optimizer, scheduler, {"lr": 1e-3})  # before: json.JSONDecodeError
