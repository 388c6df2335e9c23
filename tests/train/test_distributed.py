"""Data-parallel training with 2 CPU processes (gloo) equals single-process training on the same global batches."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from textsiam.data import read_pairs
from textsiam.models import create_model
from textsiam.train import Callback, TrainConfig, Trainer
from textsiam.train import trainer as trainer_module
from textsiam.train.distributed import DataParallel

PAIRS = [
    ("a man plays the guitar", "a man is playing a guitar", 5.0),
    ("a dog runs in the park", "the cat eats food", 0.4),
    ("two children read a book", "kids are reading", 3.8),
    ("a woman plays piano", "a red car on the street", 0.0),
    ("people ride bikes", "people are riding bicycles", 4.6),
    ("a plane is taking off", "an airplane departs", 4.2),
    ("the cat sits", "a cat is sitting", 4.8),
    ("a boy eats pizza", "a child is eating food", 3.0),
    ("a horse runs", "music plays in the park", 0.2),
    ("the man talks on the phone", "a man is talking", 3.1),
    ("two dogs play", "dogs are playing", 4.5),
]
# One process and two run the same arithmetic in a different float32 summation order (batches of 4 rows vs pieces of
# 2, the gradient all-reduce), and nothing else may differ. How far that order moves each compared quantity:
# - a step's loss and the first step's gradients are float32 sums of ~10^2 terms (<= 4 pairs x 2 sides x ~8 tokens,
#   hidden 32/64) through 2 layers; the rounding bound n * 2^-24 with n ~ 10^2 is ~1e-5 of the sum's magnitude
#   (measured natively: <= 1.2e-6 of the loss, <= 1.1e-6 of the largest gradient entry; the losses alike under avx2
#   and default kernels, and the test passes under both).
#   The later losses stay that close too: rounding moves only the weights whose gradient is ~0 (below), and a weight
#   with ~0 gradient does not move the loss.
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6  # atol for losses near 0 (cosine: 0.0008), differences of terms ~1: ~8 ulps of 1
GRAD_RTOL = 1e-5  # of the largest entry of the whole gradient: rounding scales with the summed terms, not the entry
# - the trained weights: AdamW moves a weight by lr_t * m/(sqrt(v) + eps) a step, scale-free in the gradient except
#   near eps = 1e-8. A gradient entry g (after clipping) that rounding changes by a relative r moves the normalised
#   step by at most r * |g| * eps / (|g| + eps)^2 <= r / 4 (the maximum, at |g| = eps); entries summed with heavy
#   cancellation can carry r up to ~1 (measured: 5% on one entry whose clipped gradient is 0.3 eps, which moved its
#   weight by 0.9% of lr: 1.2e-5 after 6 steps on a CPU with AMX, the old fixed 1e-5 bound failed there), and an entry
#   whose exact gradient is 0 (the attention key biases: softmax ignores a shift shared by all keys) is rounding noise
#   of ~1e-11, far below eps, and moves its weight by < 1e-3 lr. So each step may differ by lr_t / 4 at most, and the
#   weights after the run by a quarter of the summed learning rates, sum_t lr_t / 4 = 8.75e-4 here (the largest
#   difference seen, 1.2e-5, is 1.4% of it). Weights trained on other rows differ by whole steps (~lr) and fail it; a
#   gradient off by a constant factor does not move AdamW's weights at all (measured: a gather that drops the other
#   ranks' gradient halves every gradient and moves no weight by more than 9e-6), which is what GRAD_RTOL is for.
LR, STEPS = 1e-3, 6  # 11 pairs in batches of 4 (4, 4, 3) for 2 epochs; linear decay from lr, no warmup (10% of 6 < 1)
WEIGHT_ATOL = sum(LR * (STEPS - s) / STEPS for s in range(STEPS)) / 4
# loss -> (batch size: 11 pairs in batches of 4 = 4, 4, 3, so the last batch splits unevenly 2 + 1)
CASES = {"cosent": 4, "multiple-negatives": 4, "cosine": 4}


def _train(
    tiny: str, data_file: str, loss: str, batch: int, out: Path
) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(the step losses from train_log.jsonl, empty where this rank writes none; the first step's gradients, before
    clipping; the weights after training)"""
    model = create_model(tiny, seed=0)
    for m in model.modules():  # dropout draws differ per process; the comparison needs deterministic steps
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    cfg = TrainConfig(
        loss=loss, epochs=2, batch_size=batch, lr=LR, log_every=1, seed=0, device="cpu", save_checkpoints=False
    )
    first: dict[str, torch.Tensor] = {}

    def capture(optimizer, params, max_norm):  # the first step's gradients (under DDP: synced across the ranks)
        if not first:
            first.update({k: p.grad.detach().clone() for k, p in model.named_parameters() if p.grad is not None})
        real(optimizer, params, max_norm)

    real, trainer_module.clipped_step = trainer_module.clipped_step, capture
    try:
        Trainer(model, cfg, read_pairs(data_file), out_dir=out, show_progress=False).train()
    finally:
        trainer_module.clipped_step = real
    log = out / "train_log.jsonl"
    reads = log.exists() and not (dist.is_initialized() and dist.get_rank() > 0)
    records = [json.loads(line) for line in log.read_text().splitlines()] if reads else []
    losses = torch.tensor([r["loss"] for r in records if r["type"] == "step"])
    return losses, first, {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


class _StopAfterEpoch1(Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_epoch_end(self, epoch, record):
        self.calls += 1
        return True


def _stopped_run(tiny: str, data_file: str, out: Path) -> torch.Tensor:
    """(steps run, callback calls) of a 3-epoch run whose callback stops it after epoch 1."""
    spy = _StopAfterEpoch1()
    cfg = TrainConfig(loss="cosine", epochs=3, batch_size=4, seed=0, device="cpu", save_checkpoints=False)
    # every rank is given the callback; only the main rank calls it
    trainer = Trainer(create_model(tiny, seed=0), cfg, read_pairs(data_file), None, out, False, callbacks=[spy])
    return torch.tensor([trainer.train()["steps"], spy.calls])


def _worker(rank: int, port: int, tiny: str, data_file: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        for loss, batch in CASES.items():  # one process group for every case: starting processes is the slow part
            losses, first, weights = _train(tiny, data_file, loss, batch, Path(out) / loss)
            grads = {f"grad.{k}": g for k, g in first.items()}
            save_file({**weights, **grads, "__losses__": losses}, f"{out}/{loss}-rank{rank}.safetensors")
        save_file({"stopped": _stopped_run(tiny, data_file, Path(out) / "stop")}, f"{out}/stop-rank{rank}.safetensors")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ddp") / "pairs.tsv"
    path.write_text("text_a\ttext_b\tlabel\n" + "".join(f"{a}\t{b}\t{y}\n" for a, b, y in PAIRS))
    return path


@pytest.fixture(scope="module")
def two_process_runs(tiny_bert_dir, data_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp-runs")
    mp.spawn(_worker, args=(_free_port(), str(tiny_bert_dir), str(data_file), str(out)), nprocs=2, join=True)
    return out


def _assert_gradients_close(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    scale = max(g.abs().max() for g in want.values())
    for name, g in want.items():
        torch.testing.assert_close(got[name], g, atol=GRAD_RTOL * scale, rtol=0, msg=name)


@pytest.mark.parametrize("loss", sorted(CASES))
def test_two_gloo_processes_match_one_process(loss, tiny_bert_dir, data_file, two_process_runs, tmp_path):
    losses, grads, weights = _train(str(tiny_bert_dir), str(data_file), loss, CASES[loss], tmp_path)
    assert len(losses) == STEPS  # 2 epochs x 3 batches
    assert grads.keys() <= weights.keys() and all(g.abs().max() > 0 for g in grads.values())
    for rank in (0, 1):
        got = load_file(two_process_runs / f"{loss}-rank{rank}.safetensors")
        logged = got.pop("__losses__")
        if rank == 0:  # the one train_log.jsonl, written by rank 0 (rank 1 does not wait for its last line)
            torch.testing.assert_close(logged, losses, atol=LOSS_ATOL, rtol=LOSS_RTOL)
        _assert_gradients_close({k: got.pop(f"grad.{k}") for k in grads}, grads)  # the first step's, synced by DDP
        assert got.keys() == weights.keys()
        for name, w in weights.items():
            torch.testing.assert_close(got[name], w, atol=WEIGHT_ATOL, rtol=0, msg=name)
    moved = create_model(str(tiny_bert_dir), seed=0).state_dict()
    # training moved the weights by far more than the tolerance, so the comparison above has something to compare
    assert max((moved[k] - weights[k]).abs().max() for k in weights) > 2 * WEIGHT_ATOL


def test_a_callback_on_the_main_rank_stops_every_rank_after_the_same_epoch(two_process_runs):
    """Rank 1 has no callback call of its own; it learns of the stop from rank 0 (else it would wait in epoch 2's
    first gather, and the spawn would never return)."""
    rank0, rank1 = (load_file(two_process_runs / f"stop-rank{r}.safetensors")["stopped"].tolist() for r in (0, 1))
    assert rank0 == [3, 1] and rank1 == [3, 0]  # 11 pairs in batches of 4: 3 steps, then the stop


def test_single_process_sharding_is_the_identity():
    from textsiam.distributed import DistContext

    par = DataParallel(DistContext())
    u = torch.ones(3, 2)
    assert par.shard([4, 5, 6]) == [4, 5, 6] and par.gather(u)[0] is u


def test_pieces_are_contiguous_and_padded_to_one_size():
    from textsiam.distributed import DistContext

    pieces = [DataParallel(DistContext(rank=r, world=3)).shard([10, 11, 12, 13]) for r in range(3)]
    assert pieces == [[10, 10], [11, 10], [12, 13]]


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: torchrun plumbing: one log writer, one model file
def test_torchrun_cli_training_writes_one_model_from_rank_0(tiny_bert_dir, data_file, tmp_path):
    import json
    import subprocess
    import sys

    from tests.helpers.fixtures import ROOT

    out = tmp_path / "model"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           "-m", "textsiam", "train", "--model", str(tiny_bert_dir), "--train", str(data_file), "--loss", "cosent",
           "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--out", str(out), "--quiet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if r["type"] == "step"] == [3]  # the last step, logged once: one writer
    assert (out / "model.safetensors").is_file() and done.stdout.count("model saved to") == 1
