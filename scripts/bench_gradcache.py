"""GradCache benchmark: peak memory and time of one multiple-negatives training step of the MiniLM twin at several
batch sizes, with and without caching (``cached-multiple-negatives``, mini-batch 32), plus the gradient check on
MiniLM itself (dropout off: both paths then see the same network).

Each (batch, method) runs in a fresh process; its peak is VmHWM after resetting it (``/proc/self/clear_refs``)
minus the resident size just before the step, so the model weights and the tokenizer are not counted.

    python scripts/bench_gradcache.py --batches 32 128 512 --json runs/gradcache.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("TEXTSIAM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _setup(batch: int):
    import torch

    from textsiam.data import read_pairs
    from textsiam.models import create_model
    from textsiam.train.towers import SideEmbedder

    torch.manual_seed(0)
    pairs = read_pairs(DATA / "stsb" / "sts-train.csv", limit=batch)
    model = create_model("minilm-twin")
    embedder = SideEmbedder(model, torch.device("cpu"), pairs.a, cache=False, checkpoint_tokens=None)
    sides = embedder.prepare(pairs.a, pairs.b)
    return torch, model, lambda chunk: embedder.rows(*sides, list(chunk)), torch.ones(len(pairs))


def one(batch: int, method: str, mini_batch: int) -> dict:
    torch, model, embed, labels = _setup(batch)
    from textsiam.losses import build_loss

    model.train()
    loss_fn = (
        build_loss("multiple-negatives")
        if method == "plain"
        else build_loss("cached-multiple-negatives", mini_batch_size=mini_batch)
    )
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size
    before = _status("VmRSS")
    start = time.perf_counter()
    if method == "plain":
        loss = loss_fn(*embed(range(batch)), labels)
        loss.backward()
    else:
        loss = loss_fn.backward_step(embed, batch, labels)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM") - before
    return {"batch": batch, "method": method, "seconds": round(seconds, 2), "peak_mib": round(peak / 2**20, 1),
            "loss": round(loss.item(), 5)}  # fmt: skip


def check(batch: int, mini_batch: int) -> dict:
    """Max |gradient difference| between the cached and the plain loss on MiniLM with dropout off."""
    torch, model, embed, labels = _setup(batch)
    from textsiam.losses import build_loss

    model.eval()
    build_loss("multiple-negatives")(*embed(range(batch)), labels).backward()
    plain = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    build_loss("cached-multiple-negatives", mini_batch_size=mini_batch).backward_step(embed, batch, labels)
    cached = [p.grad for p in model.parameters() if p.grad is not None]
    diff = max((a - b).abs().max().item() for a, b in zip(plain, cached))
    return {"batch": batch, "mini_batch": mini_batch, "max_abs_grad_diff": diff,
            "max_abs_grad": max(g.abs().max().item() for g in plain)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[32, 128, 512])
    p.add_argument("--mini-batch", type=int, default=32)
    p.add_argument("--check-batch", type=int, default=64, help="batch of the MiniLM gradient check (0: skip)")
    p.add_argument("--json", help="write the rows here")
    p.add_argument("--one", nargs=2, metavar=("BATCH", "METHOD"), help=argparse.SUPPRESS)
    p.add_argument("--check", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.mini_batch)))
        return
    if args.check:
        print(json.dumps(check(args.check, 16)))
        return
    rows = []
    jobs = [["--one", str(b), m] for b in args.batches for m in ("plain", "cached")]
    if args.check_batch:
        jobs.append(["--check", str(args.check_batch)])
    for job in jobs:
        out = subprocess.run([sys.executable, __file__, *job, "--mini-batch", str(args.mini_batch)],
                             capture_output=True, text=True, check=True)  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
