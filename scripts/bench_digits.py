"""Measure the demo's digits twin over several seeds: test pair accuracy, ROC AUC and seconds per seed.

Each seed draws the training pairs, the initial weights and the batch order; the image split and the dev/test
pairs stay fixed, so every seed is scored on the same 900 test pairs. The recipe is the demo's
(``textsiam.api.demo``, which ``textsiam demo`` runs: preset ``digits-mlp-twin``); ``--set key=value`` tries a variation
(a TrainConfig field, or ``pairs_per_image``).

    python scripts/bench_digits.py --seeds 0 1 2 3 4 --out runs/bench_digits.json
"""

from __future__ import annotations

import argparse
import json
import tempfile

import torch

from textsiam.api import demo
from textsiam.atomic import write_json


def parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--set", dest="sets", action="append", default=[], help="recipe override key=JSON value")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    overrides = parse_sets(args.sets)
    rows = []
    print(f"recipe overrides: {overrides or 'none (the demo recipe)'}")
    print(f"{'seed':>4}  {'accuracy':>8}  {'roc_auc':>7}  {'seconds':>7}")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            m = demo(tmp, seed=seed, pretrained=False, overrides=overrides).digits.metrics
        rows.append({"seed": seed, "accuracy": m["accuracy"], "roc_auc": m["roc_auc"], "seconds": m["seconds"]})
        print(f"{seed:>4}  {m['accuracy']:>8.4f}  {m['roc_auc']:>7.4f}  {m['seconds']:>7.1f}", flush=True)
    accs = [r["accuracy"] for r in rows]
    print(f"min accuracy {min(accs):.4f}, mean {sum(accs) / len(accs):.4f}")
    if args.out:
        write_json(args.out, {"overrides": overrides, "threads": args.threads, "runs": rows})


if __name__ == "__main__":
    main()
