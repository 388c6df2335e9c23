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
from textsiam.train import TrainConfig, Trainer
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
TOLERANCE = 1e-5  # float32 summation order differs between one process and two; nothing else may
# loss -> (batch size: 11 pairs in batches of 4 = 4, 4, 3, so the last batch splits unevenly 2 + 1)
CASES = {"cosent": 4, "multiple-negatives": 4, "cosine": 4}


def _train(tiny: str, data_file: str, loss: str, batch: int, out: Path) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(the step losses from train_log.jsonl, empty where this rank writes none; the weights after training)"""
    model = create_model(tiny, seed=0)
    for m in model.modules():  # dropout draws differ per process; the comparison needs deterministic steps
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    cfg = TrainConfig(
        loss=loss, epochs=2, batch_size=batch, lr=1e-3, log_every=1, seed=0, device="cpu", save_checkpoints=False
    )
    Trainer(model, cfg, read_pairs(data_file), out_dir=out, show_progress=False).train()
    log = out / "train_log.jsonl"
    reads = log.exists() and not (dist.is_initialized() and dist.get_rank() > 0)
    records = [json.loads(line) for line in log.read_text().splitlines()] if reads else []
    losses = torch.tensor([r["loss"] for r in records if r["type"] == "step"])
    return losses, {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def _worker(rank: int, port: int, tiny: str, data_file: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        for loss, batch in CASES.items():  # one process group for every case: starting processes is the slow part
            losses, weights = _train(tiny, data_file, loss, batch, Path(out) / loss)
            save_file({**weights, "__losses__": losses}, f"{out}/{loss}-rank{rank}.safetensors")
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


@pytest.mark.parametrize("loss", sorted(CASES))
def test_two_gloo_processes_match_one_process(loss, tiny_bert_dir, data_file, two_process_runs, tmp_path):
    losses, weights = _train(str(tiny_bert_dir), str(data_file), loss, CASES[loss], tmp_path)
    assert len(losses) == 6  # 2 epochs x 3 batches
    for rank in (0, 1):
        got = load_file(two_process_runs / f"{loss}-rank{rank}.safetensors")
        logged = got.pop("__losses__")
        if rank == 0:  # the one train_log.jsonl, written by rank 0 (rank 1 does not wait for its last line)
            torch.testing.assert_close(logged, losses, atol=TOLERANCE, rtol=TOLERANCE)
        assert got.keys() == weights.keys()
        for name, w in weights.items():
            torch.testing.assert_close(got[name], w, atol=TOLERANCE, rtol=TOLERANCE, msg=name)
    moved = create_model(str(tiny_bert_dir), seed=0).state_dict()
    assert any(not torch.equal(moved[k], weights[k]) for k in weights)  # training changed the weights


def test_single_process_sharding_is_the_identity():
    from textsiam.distributed import DistContext

    par = DataParallel(DistContext())
    u = torch.ones(3, 2)
    assert par.shard([4, 5, 6]) == [4, 5, 6] and par.gather(u)[0] is u


def test_pieces_are_contiguous_and_padded_to_one_size():
    from textsiam.distributed import DistContext

    pieces = [DataParallel(DistContext(rank=r, world=3)).shard([10, 11, 12, 13]) for r in range(3)]
    assert pieces == [[10, 10], [11, 10], [12, 13]]


def test_torchrun_cli_training_writes_one_model_from_rank_0(tiny_bert_dir, data_file, tmp_path):
    import json
    import subprocess
    import sys

    from fixtures import ROOT

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
