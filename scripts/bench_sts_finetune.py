"""Fine-tune all-MiniLM-L6-v2 (or ``--model mpnet-twin --st-model all-mpnet-base-v2``) on STS-B train with the same
recipe in textsiam and in sentence-transformers, side by side, and report test Spearman, training throughput
(pairs/s), their ratio and peak RSS.

Recipe (the issue's): cosine-similarity loss, 1 epoch, batch 16, lr 2e-5, linear warmup over 10% of steps,
AdamW (weight decay 0.01 for both), gradient clipping at 1.0, seed 0. Each run is its own process (so its peak
RSS is its own), and the runs alternate textsiam, sentence-transformers, textsiam, ... for ``--rounds`` rounds;
the ratio is taken per round and its median reported, so load that changes during the benchmark hits both sides.
Each run also reports pairs per CPU second (``time.process_time`` around the training call only): with
``--threads 1`` on a machine shared with other jobs, that ratio does not depend on how much of a core each run got.

    python scripts/bench_sts_finetune.py --rounds 3 --out runs/bench_sts_finetune.json      # full: 5,749 pairs
    python scripts/bench_sts_finetune.py --sample 800 --rounds 2 --test-limit 300            # short check
    python scripts/bench_sts_finetune.py --rounds 1 --sides textsiam --amp --seed 1          # bf16 autocast

``--limit N`` takes the file's first N pairs, which are all short image captions (little padding for either side);
``--sample N`` takes N random pairs, the same mix of captions, news and forum sentences as the full set.

sentence-transformers is imported only here, in a benchmark script, never by the textsiam package
(``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from textsiam.data import read_pairs

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("textsiam", "sentence-transformers")


def run_textsiam(train, test, args) -> dict:
    from textsiam.models import create_model
    from textsiam.train import TrainConfig, Trainer

    model = create_model(args.model)
    cfg = TrainConfig(
        loss="cosine",
        epochs=1,
        batch_size=16,
        lr=2e-5,
        warmup_ratio=0.1,
        weight_decay=0.01,
        seed=args.seed,
        group_by_length=not args.no_grouping,
        save_checkpoints=False,
        amp=args.amp,
    )
    cpu = time.process_time()
    summary = Trainer(model, cfg, train, None, None, show_progress=not args.quiet).train()
    cpu = time.process_time() - cpu
    scores = model.similarity_scores(test.a, test.b)
    return {
        "train_seconds": summary["train_seconds"],
        "pairs_per_second": summary["pairs_per_second"],
        "test_spearman": float(spearmanr(scores, test.labels).statistic),
        "cpu_seconds": cpu,
    }


def run_sentence_transformers(train, test, args) -> dict:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Args
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    from textsiam.encoders.pretrained import resolve_pretrained

    model = SentenceTransformer(str(resolve_pretrained(args.st_model)), device="cpu")
    ds = Dataset.from_dict({"sentence1": train.a, "sentence2": train.b, "score": list(train.scaled_labels())})
    out = Path(args.tmp) / "st"
    targs = Args(
        output_dir=str(out),
        num_train_epochs=1,
        per_device_train_batch_size=16,
        learning_rate=2e-5,
        warmup_ratio=0.1,
        weight_decay=0.01,
        seed=args.seed,
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        disable_tqdm=args.quiet,
        use_cpu=True,
        bf16=args.amp,
    )
    trainer = SentenceTransformerTrainer(model=model, args=targs, train_dataset=ds, loss=CosineSimilarityLoss(model))
    t0, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
    ea = model.encode(test.a, batch_size=64, convert_to_tensor=True)
    eb = model.encode(test.b, batch_size=64, convert_to_tensor=True)
    scores = torch.nn.functional.cosine_similarity(ea, eb).cpu().numpy()
    return {
        "train_seconds": seconds,
        "pairs_per_second": len(train) / seconds,
        "test_spearman": float(spearmanr(scores, test.labels).statistic),
        "cpu_seconds": cpu,
    }


RUNNERS = {"textsiam": run_textsiam, "sentence-transformers": run_sentence_transformers}


def worker(side: str, args: argparse.Namespace) -> dict:
    """One training run in this process; peak RSS is this run's (model, data and optimizer included)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    train = read_pairs(Path(args.data) / "sts-train.csv", limit=args.limit)
    if args.sample:  # a random sample keeps the genre mix (the file starts with short image captions)
        train = train.select(np.sort(np.random.default_rng(0).choice(len(train), args.sample, replace=False)))
    test = read_pairs(Path(args.data) / "sts-test.csv", limit=args.test_limit)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    result = RUNNERS[side](train, test, args)
    result["pairs_per_cpu_second"] = len(train) / result["cpu_seconds"]
    result |= {"side": side, "train_pairs": len(train), "test_pairs": len(test), "threads": torch.get_num_threads()}
    return result | {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _spawn(side: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", side, "--data", args.data, "--seed", str(args.seed), "--quiet"]
    cmd += ["--model", args.model, "--st-model", args.st_model]
    options = {
        "--limit": args.limit,
        "--sample": args.sample,
        "--test-limit": args.test_limit,
        "--threads": args.threads,
    }
    for flag, value in options.items():
        cmd += [flag, str(value)] if value else []
    cmd += ["--tmp", args.tmp] + (["--no-grouping"] if args.no_grouping else []) + (["--amp"] if args.amp else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(args: argparse.Namespace) -> dict:
    runs: dict[str, list[dict]] = {side: [] for side in args.sides}
    for r in range(args.rounds):
        for side in args.sides:
            res = _spawn(side, args)
            runs[side].append(res)
            print(f"round {r + 1} {side:22} {res['pairs_per_second']:7.2f} pairs/s  {res['train_seconds']:7.1f} s  "
                  f"{res['pairs_per_cpu_second']:7.2f} pairs/CPU-s  "
                  f"Spearman {res['test_spearman']:.4f}  peak {res['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
    summary: dict = {"args": {k: v for k, v in vars(args).items() if k != "worker"}, "runs": runs}
    for side in args.sides:
        summary[side] = {
            "median_pairs_per_second": statistics.median(x["pairs_per_second"] for x in runs[side]),
            "median_pairs_per_cpu_second": statistics.median(x["pairs_per_cpu_second"] for x in runs[side]),
            "test_spearman": runs[side][0]["test_spearman"],  # the same every round: same seed, same data
            "peak_rss_mb": max(x["peak_rss_mb"] for x in runs[side]),
        }
    if set(SIDES) <= set(args.sides):
        per_round = [
            x["pairs_per_second"] / y["pairs_per_second"]
            for x, y in zip(runs["textsiam"], runs["sentence-transformers"])
        ]
        summary["ratio_per_round"] = per_round
        summary["ratio_median"] = statistics.median(per_round)
        ts, st = runs["textsiam"], runs["sentence-transformers"]
        summary["cpu_ratio_per_round"] = [x["pairs_per_cpu_second"] / y["pairs_per_cpu_second"] for x, y in zip(ts, st)]
        summary["cpu_ratio_median"] = statistics.median(summary["cpu_ratio_per_round"])
        summary["spearman_diff"] = (
            summary["textsiam"]["test_spearman"] - summary["sentence-transformers"]["test_spearman"]
        )
    return summary


def _print(summary: dict, sides: list[str]) -> None:
    print(f"\n{'framework':24} {'test spearman':>14} {'pairs/s':>9} {'pairs/CPU-s':>12} {'peak MB':>8}")
    for side in sides:
        s = summary[side]
        print(f"{side:24} {s['test_spearman']:14.4f} {s['median_pairs_per_second']:9.2f} "
              f"{s['median_pairs_per_cpu_second']:12.2f} {s['peak_rss_mb']:8.0f}")  # fmt: skip
    if "ratio_median" in summary:
        rounds = ", ".join(f"{r:.2f}" for r in summary["ratio_per_round"])
        print(f"throughput ratio textsiam / sentence-transformers: median {summary['ratio_median']:.2f} "
              f"(per round {rounds}); per CPU second: median {summary['cpu_ratio_median']:.2f}; "
              f"Spearman difference {summary['spearman_diff']:+.4f}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", str(ROOT.parent / "shared" / "data")) + "/stsb")
    p.add_argument("--out", default="runs/bench_sts_finetune.json")
    p.add_argument("--model", default="minilm-twin", help="textsiam preset or folder (mpnet-twin: the base-size one)")
    p.add_argument("--st-model", default="all-MiniLM-L6-v2", help="the same weights for sentence-transformers")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=3, help="alternated rounds (each: one run per side)")
    p.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    p.add_argument("--limit", type=int, default=None, help="train on the first N pairs only (short check)")
    p.add_argument("--sample", type=int, default=None, help="train on a random N-pair sample (short check)")
    p.add_argument("--test-limit", type=int, default=None, help="score the first N test pairs only (short check)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per run (default: torch's)")
    p.add_argument("--no-grouping", action="store_true", help="textsiam: random batches, not length-grouped")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast: textsiam amp=True, ST bf16=True")
    p.add_argument("--tmp", default="runs/tmp")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    summary = compare(args)
    _print(summary, args.sides)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
