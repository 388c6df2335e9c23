"""MNIST siamese twins (the seed's MLP and the CNN): test pair accuracy at the threshold chosen from the ROC curve
on dev pairs (Youden's J), next to the seed's fixed rule distance < 0.5; ROC AUC; training time. Prints one JSON
row per run and a summary table; writes JSON.

    python scripts/bench_mnist.py --presets mnist-cnn-twin mnist-mlp-twin --seeds 0 1 2 --pairs 30000 --epochs 3

Training pairs are drawn from the MNIST train images (fresh balanced pairs every epoch), dev pairs from images
carved off them (--dev-fraction), test pairs from the 10000 test images (two per image: 20000 pairs, balanced).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from textsiam.api import evaluate, load_data, tune_threshold
from textsiam.eval.metrics import binary_metrics
from textsiam.models.io import create_model, preset_config
from textsiam.train import TrainConfig, Trainer

SEED_THRESHOLD = -0.5
"""The seed's rule "same digit when the distance is under 0.5"; scores are negated distances."""


def run(args: argparse.Namespace, preset: str, seed: int) -> dict:
    data = load_data(args.data, format="mnist", split="train", pairs=args.pairs, seed=seed)
    train, dev = data.split(args.dev_fraction, seed=seed)
    model = create_model(preset, seed=seed)
    recipe = {**preset_config(preset)["train"], "seed": seed, "save_checkpoints": False, "epochs": args.epochs}
    t0, c0 = time.perf_counter(), time.process_time()
    Trainer(model, TrainConfig.from_dict(recipe), train, dev, show_progress=False).train()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    decision = tune_threshold(model, dev, "youden")
    test = load_data(args.data, format="mnist", split="test", seed=seed)
    metrics, scores = evaluate(model, test)
    fixed = binary_metrics(scores, test.labels, threshold=SEED_THRESHOLD)
    row = {
        "preset": preset,
        "seed": seed,
        "train_pairs": len(train),
        "dev_pairs": len(dev),
        "test_pairs": len(test),
        "epochs": args.epochs,
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        "threads": torch.get_num_threads(),
        "roc_threshold": decision.threshold,
        "accuracy_roc_threshold": metrics["accuracy"],
        "accuracy_distance_0.5": fixed["accuracy"],
        "roc_auc": metrics["roc_auc"],
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
    p.add_argument("--presets", nargs="+", default=["mnist-cnn-twin", "mnist-mlp-twin"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--pairs", type=int, default=30000, help="training pairs drawn per epoch (before the dev carve)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--dev-fraction", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (CPU seconds = wall time on idle cores)")
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = [run(args, preset, seed) for preset in args.presets for seed in args.seeds]
    print(
        f"\n{'preset':16s} {'acc@ROC thr':>14s} {'acc@d<0.5':>14s} {'ROC AUC':>8s} {'train s':>8s} {'cpu s':>7s}  seeds"
    )
    for preset in args.presets:
        mine = [r for r in rows if r["preset"] == preset]
        cols = [np.array([r[k] for r in mine]) for k in ("accuracy_roc_threshold", "accuracy_distance_0.5", "roc_auc")]
        secs, cpu = (np.mean([r[k] for r in mine]) for k in ("train_seconds", "train_cpu_seconds"))
        roc, fixed = (f"{c.mean():.4f}+-{c.std():.4f}" for c in cols[:2])
        print(f"{preset:16s} {roc:>14s} {fixed:>14s} {cols[2].mean():8.4f} {secs:8.0f} {cpu:7.0f}  {len(mine)}")
    if args.json:
        from textsiam.atomic import write_json

        write_json(args.json, {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
