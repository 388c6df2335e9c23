"""COCO mini caption-image matching: train on the 80 train2017 images (dev images carved from them), evaluate on
all 159 val2017 images (795 captions): recall@1/5/10 both ways and match accuracy at a threshold tuned on the dev
pairs, mean +- sd over seeds, next to random ranking. Prints a table and writes JSON.

    python scripts/bench_coco.py --seeds 0 1 2 3 4 --json runs/bench_coco.json
    python scripts/bench_coco.py --variant frozen-baseline --seeds 0 1 2 3 4
    python scripts/bench_coco.py --preset coco-effnet-minilm-ridge --seeds 0 1 2 3 4

Variants change the coco-effnet-minilm preset's towers/recipe (see VARIANTS); other presets (the closed-form
coco-effnet-minilm-ridge) run as they are; every run goes through textsiam's own reader, Trainer,
tune_threshold and evaluate (a ridge-map model also reports the accuracy at a threshold from the dev pairs
alone, next to the default dev + out-of-fold training pairs, and the weights its cross-validation chose).
Frozen towers cache their outputs inside the encoders (exact, see their docs).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

from textsiam.api import evaluate, load_data, tune_threshold
from textsiam.models.io import build_model, preset_config
from textsiam.train import TrainConfig, Trainer

KEYS = ("t2i_r@1", "t2i_r@5", "t2i_r@10", "i2t_r@1", "i2t_r@5", "i2t_r@10", "accuracy", "roc_auc")
VARIANTS = {
    "preset": {},
    "frozen-baseline": {"left": {"image": {"augment": False}, "views": 0}},
}


def model_config(
    variant: str, trainable_layers: int | None, text_layers: int | None, name: str = "coco-effnet-minilm"
) -> tuple[dict, dict]:
    preset = preset_config(name)
    config, train = preset["model"], preset["train"]
    if name != "coco-effnet-minilm":
        if variant != "preset":
            raise SystemExit(f"--variant applies to the coco-effnet-minilm preset, not {name}")
        return config, train
    change = copy.deepcopy(VARIANTS[variant])
    left = config["left"]["args"]
    left["image"].update(change.get("left", {}).pop("image", {}))
    left.update(change.get("left", {}))
    if trainable_layers is not None:
        left["trainable_layers"] = trainable_layers
    if text_layers is not None:
        config["right"]["args"]["trainable_layers"] = text_layers
    return config, train


def run_seed(args: argparse.Namespace, seed: int) -> dict:
    import torch

    config, train_defaults = model_config(args.variant, args.trainable_layers, args.text_layers, args.preset)
    data = load_data(args.data, format="coco", split="train2017", seed=seed)
    train, dev = data.split(args.dev_fraction, seed=seed)
    torch.manual_seed(seed)
    model = build_model(config)
    recipe = {**train_defaults, "seed": seed, "save_checkpoints": False}
    recipe.update({k: v for k, v in (("epochs", args.epochs), ("lr", args.lr)) if v is not None})
    t0 = time.perf_counter()
    Trainer(model, TrainConfig.from_dict(recipe), train, dev, show_progress=False).train()
    seconds = time.perf_counter() - t0
    val = load_data(args.data, format="coco", split="val2017", seed=seed)
    extra = {}
    if model.held_out_pairs() is not None:  # ridge-map: also the dev-pairs-only threshold
        model.threshold_from_cv = False
        tune_threshold(model, dev, "max-accuracy")
        extra = {"threshold_dev_only": model.decision.threshold}
        extra["accuracy_dev_only"] = float(evaluate(model, val)[0]["accuracy"])
        model.threshold_from_cv = True
    tune_threshold(model, dev, "max-accuracy")
    metrics, _ = evaluate(model, val)
    row = {k: float(metrics[k]) for k in KEYS}
    row.update(seed=seed, train_seconds=seconds, threshold=model.decision.threshold, dev_images=len(dev.images))
    row.update(extra)
    if getattr(model, "cv_summary", None):  # the weights cross-validation chose on the training images
        row.update(cv_chosen=model.cv_summary["chosen"], cv_score=model.cv_summary["chosen_score"])
    row.update(gallery_images=metrics["gallery_images"], gallery_captions=metrics["gallery_captions"])
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "coco_mini"))
    p.add_argument("--preset", default="coco-effnet-minilm", help="coco-effnet-minilm or coco-effnet-minilm-ridge")
    p.add_argument("--variant", choices=sorted(VARIANTS), default="preset")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--trainable-layers", type=int, help="EfficientNet units to fine-tune (0 frozen ... 18 all)")
    p.add_argument("--text-layers", type=int, help="MiniLM layers to fine-tune (0 frozen)")
    p.add_argument("--dev-fraction", type=float, default=0.2)
    p.add_argument("--json", help="write the per-seed rows and the summary here")
    args = p.parse_args()
    rows = [run_seed(args, seed) for seed in args.seeds]
    summary = {k: (float(np.mean([r[k] for r in rows])), float(np.std([r[k] for r in rows]))) for k in KEYS}
    n = rows[0]["gallery_images"]
    gallery = f"gallery {n} images / {rows[0]['gallery_captions']} captions"
    print(f"\n{args.preset} variant {args.variant}, {len(rows)} seeds, {gallery}")
    for k in KEYS:
        mean, sd = summary[k]
        rand = {"1": 100 / n, "5": 500 / n, "10": 1000 / n}.get(k.split("@")[-1]) if "@" in k else None
        print(f"{k:10s} {mean:7.2f} +- {sd:5.2f}" + (f"   (random {rand:.1f})" if rand else ""))
    if args.json:
        from textsiam.atomic import write_json

        write_json(args.json, {"args": vars(args), "rows": rows, "summary": summary})


if __name__ == "__main__":
    main()
