"""Where a training step's time goes: the STS-B recipe (minilm-twin, cosine loss, batch 16, AdamW, clipping 1.0)
split into its stages, timed with ``time.perf_counter`` over ``--steps`` steps, then ``torch.profiler`` over a few
steps for the top operators by self CPU time.

    python scripts/profile_train.py --steps 40 --profile-steps 8
    python scripts/profile_train.py --model mpnet-twin --amp --steps 30 --profile-steps 6   # bf16 autocast

Stages: ``batch`` (the pairs' pre-tokenized ids gathered and padded, one tensor per side),
``forward`` (both sides through the shared encoder + loss), ``backward``, ``optimizer`` (the gradient norm, then
fused AdamW with the clipping factor inside, + scheduler), ``zero_grad``. Run with the threads you want to measure
(``OMP_NUM_THREADS``).

``--compare-padded N`` then times N steps (every k-th batch of the epoch, so the few long, recomputed ones are in)
with the packed (unpadded) BERT forward and with the transformer's padded forward, alternating blocks of 10 steps
on the same batches, and reports CPU milliseconds per step (``time.process_time``) for each:

    python scripts/profile_train.py --steps 0 --profile-steps 0 --compare-padded 120
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from textsiam.data import read_pairs
from textsiam.models import create_model
from textsiam.train import TrainConfig, Trainer
from textsiam.train.batches import epoch_batches, labels_of
from textsiam.train.optim import clipped_step


class Stages:
    """Accumulates wall seconds per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._t = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] += now - self._t
        self._t = now


def run_steps(trainer: Trainer, epoch: tuple, batches: list[list[int]], stages: Stages | None) -> None:
    """The trainer's step, stage by stage (the same calls as ``Trainer._epoch``'s loop and ``EmbeddingSteps.loss``)."""
    model, cfg = trainer.model, trainer.config
    labels_all, (left, right), _ = epoch
    run = trainer.run
    embedder = run.steps.embedder
    for idx in batches:
        stages and stages.mark("other")
        fa, fb = left.features(idx), right.features(idx)
        labels = labels_all[idx]
        embedder._checkpoint(fa, fb)  # as SideEmbedder.rows: recompute layers for steps above checkpoint_tokens
        stages and stages.mark("batch")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.amp):  # as EmbeddingSteps.embed
            u, v = embedder.net(fa, fb)
        loss = trainer.loss_fn(u.float(), v.float(), labels)
        stages and stages.mark("forward")
        run.optimizer.zero_grad(set_to_none=True)
        stages and stages.mark("zero_grad")
        loss.backward()
        stages and stages.mark("backward")
        clipped_step(run.optimizer, model.parameters(), cfg.max_grad_norm)  # clipping inside the fused step
        run.scheduler.step()
        stages and stages.mark("optimizer")


def compare_padded(trainer: Trainer, epoch: tuple, batches: list[list[int]], steps: int, block: int = 10) -> None:
    """Packed vs padded forward on the same batches, blocks alternated (the order flips each block)."""
    encoder = trainer.model.encoder
    work = batches[:: max(1, len(batches) // steps)][:steps]
    cpu, wall = {True: 0.0, False: 0.0}, {True: 0.0, False: 0.0}
    encoder._packs = False
    run_steps(trainer, epoch, batches[:1], None)  # warm-up of the padded path
    for i in range(0, len(work), block):
        for packed in (True, False) if (i // block) % 2 == 0 else (False, True):
            encoder._packs = packed
            c, w = time.process_time(), time.perf_counter()
            run_steps(trainer, epoch, work[i : i + block], None)
            cpu[packed] += time.process_time() - c
            wall[packed] += time.perf_counter() - w
    encoder._packs = True
    for packed, name in ((False, "padded"), (True, "packed")):
        ms_cpu, ms_wall = 1000 * cpu[packed] / len(work), 1000 * wall[packed] / len(work)
        print(f"{name}: {ms_cpu:.1f} CPU ms/step, {ms_wall:.1f} wall ms/step")
    print(f"padded / packed: CPU {cpu[False] / cpu[True]:.3f}, wall {wall[False] / wall[True]:.3f} ({len(work)} steps)")


def profile_stages(trainer: Trainer, epoch: tuple, work: list[list[int]]) -> None:
    """Wall seconds per stage over the steps of ``work``, with the padding of those batches."""
    stages = Stages()
    t0 = time.perf_counter()
    run_steps(trainer, epoch, work, stages)
    total = time.perf_counter() - t0
    left, right = epoch[1]
    masks = [trainer.model.encoder.merge(left.features(b), right.features(b))["attention_mask"] for b in work]
    tokens, slots = sum(int(m.sum()) for m in masks), sum(m.numel() for m in masks)
    pairs = sum(len(b) for b in work)
    print(f"{len(work)} steps, {pairs} pairs, {total:.2f} s, {pairs / total:.1f} pairs/s, "
          f"{tokens} tokens in {slots} padded slots ({100 * (1 - tokens / slots):.1f}% padding)")  # fmt: skip
    for name, sec in sorted(stages.seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {name:10} {sec:8.3f} s  {100 * sec / total:5.1f}%  {1000 * sec / len(work):7.1f} ms/step")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--profile-steps", type=int, default=8)
    p.add_argument("--rows", type=int, default=20)
    p.add_argument("--model", default="minilm-twin", help="a preset's model, e.g. mpnet-twin")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast around the forward, as --amp trains")
    p.add_argument("--compare-padded", type=int, default=0, metavar="N", help="packed vs padded forward, N steps")
    args = p.parse_args()
    train = read_pairs(Path(args.data) / "sts-train.csv")
    model = create_model(args.model)
    cfg = TrainConfig(loss="cosine", batch_size=16, lr=2e-5, save_checkpoints=False, amp=args.amp)
    trainer = Trainer(model, cfg, train, show_progress=False)
    t0 = time.perf_counter()
    run, _, _ = trainer._start_run(resume=False)
    lengths = run.steps.epoch(train)  # prepares (tokenizes) the training texts once
    epoch = (labels_of(train, trainer.loss_fn, model), run.steps.sides, lengths)
    print(f"setup: optimizer, pre-tokenizing {len(train)} pairs once: {time.perf_counter() - t0:.2f} s")
    batches = epoch_batches(lengths, cfg.batch_size, cfg.seed * 1000 + 1, trainer.group_by_length)
    model.train()
    run_steps(trainer, epoch, batches[:3], None)  # warm-up
    if args.steps:
        profile_stages(trainer, epoch, batches[3 : 3 + args.steps])
    if args.profile_steps:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run_steps(trainer, epoch, batches[3 : 3 + args.profile_steps], None)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
    if args.compare_padded:
        compare_padded(trainer, epoch, batches, args.compare_padded)


if __name__ == "__main__":
    main()
