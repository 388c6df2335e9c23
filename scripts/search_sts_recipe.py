"""Search fine-tuning recipes for the MiniLM twin on STS-B, choosing ONLY on the dev split.

Each recipe trains on sts-train, keeps the epoch with the best dev Spearman, and only then reports that model's
test Spearman. The recipe to publish is the one with the best dev score; the test column is read last.

    python scripts/search_sts_recipe.py --data ../shared/data/stsb --grid default --out runs/sts_search.json
    python scripts/search_sts_recipe.py --recipe '{"loss": "cosent", "epochs": 4, "lr": 2e-5, "batch_size": 16}'
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

from datasets import concatenate_datasets

from textsiam.api import evaluate
from textsiam.data import PairData, read_pairs
from textsiam.models import create_model, load_model
from textsiam.models.soup import interpolate
from textsiam.train import TrainConfig, Trainer
from textsiam.train.device import resolve_device

GRIDS = {
    "default": {"loss": ["cosine", "cosent"], "lr": [2e-5, 5e-5], "batch_size": [16, 32], "epochs": [4]},
    "small": {"loss": ["cosent"], "lr": [2e-5], "batch_size": [16], "epochs": [2]},
}


def run_recipe(
    recipe: dict, model_name: str, train, dev, test, quiet: bool, keep: str | None = None, wise: bool = False
) -> dict:
    cfg = TrainConfig.from_dict({"warmup_ratio": 0.1, "save_checkpoints": False, **recipe})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = keep or tmp
        t0 = time.perf_counter()
        summary = Trainer(create_model(model_name), cfg, train, dev, tmp, show_progress=not quiet).train()
        best = load_model(tmp, device=str(resolve_device(cfg.device)))
        test_metrics, _ = evaluate(best, test)
        dev_metrics = evaluate(best, dev)[0] if dev is not None else {"spearman": float("nan")}  # nan: final fit
        result = {
            "recipe": recipe,
            "dev_spearman": dev_metrics["spearman"],
            "test_spearman": test_metrics["spearman"],
            "best_dev_during_training": summary["best_value"],
            "seconds": time.perf_counter() - t0,
            "pairs_per_second": summary["pairs_per_second"],
        }
        if wise:
            result["wise"] = wise_ft(create_model(model_name).to(best.device), best, dev, test)
    return result


def wise_ft(start, finetuned, dev, test, alphas=(0.5, 0.6, 0.7, 0.8, 0.9, 1.0)) -> dict:
    """WiSE-FT: interpolate start and fine-tuned weights; alpha chosen on dev, then test read once."""
    curve = {}
    for alpha in alphas:
        curve[alpha] = evaluate(interpolate(start, finetuned, alpha), dev)[0]["spearman"]
    alpha = max(curve, key=curve.get)
    test_spearman = evaluate(interpolate(start, finetuned, alpha), test)[0]["spearman"]
    return {"alpha": alpha, "dev_spearman": curve[alpha], "test_spearman": test_spearman, "dev_curve": curve}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb")
    p.add_argument("--model", default="minilm-twin", help="preset, model folder or transformer folder")
    p.add_argument("--grid", choices=sorted(GRIDS), default="default")
    p.add_argument("--recipe", help="recipes as JSON instead of a grid: one object or a list (TrainConfig fields)")
    p.add_argument("--extra", default="{}", help="JSON of TrainConfig fields added to every recipe (e.g. amp)")
    p.add_argument("--out", default="runs/sts_search.json")
    p.add_argument("--keep", help="keep the (single) recipe's best model in this folder")
    p.add_argument(
        "--final-fit",
        action="store_true",
        help="after choosing a recipe on dev: train it on train+dev for its epochs (no selection), report test",
    )
    p.add_argument("--wise", action="store_true", help="also WiSE-FT: interpolate with the start model, alpha on dev")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    data = Path(args.data)
    train, dev, test = (read_pairs(data / f"sts-{s}.csv") for s in ("train", "dev", "test"))
    if args.final_fit:
        train = PairData(
            concatenate_datasets([train.dataset, dev.dataset]),
            source="sts-train+dev",
            label_kind="graded",
            label_range=train.label_range,
        )
        dev = None
    if args.recipe:
        parsed = json.loads(args.recipe)
        recipes = parsed if isinstance(parsed, list) else [parsed]
    else:
        grid = GRIDS[args.grid]
        recipes = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    extra = json.loads(args.extra)
    results = []
    for recipe in recipes:
        result = run_recipe({**recipe, **extra}, args.model, train, dev, test, args.quiet, args.keep, args.wise)
        results.append(result)
        print(json.dumps(result), flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    best = max(results, key=lambda r: r["dev_spearman"])
    print(f"{'recipe':70} {'dev':>7} {'test':>7} {'s':>6}")
    for r in sorted(results, key=lambda r: -r["dev_spearman"]):
        print(f"{json.dumps(r['recipe']):70} {r['dev_spearman']:7.4f} {r['test_spearman']:7.4f} {r['seconds']:6.0f}")
    print(f"chosen on dev: {json.dumps(best['recipe'])} -> test spearman {best['test_spearman']:.4f}")


if __name__ == "__main__":
    main()
