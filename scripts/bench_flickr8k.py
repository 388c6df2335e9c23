"""Flickr8k caption-image matching on the DEV split (1,000 images, 5,000 captions): train a preset on the train
split from the CLI (wall time and the peak memory of the training process), then recall@1/5/10 both ways and the
match accuracy at the threshold chosen on dev (negatives: each caption with one shuffled other image). The test split
is held out: this script never reads it. Prints one JSON row per run and appends it to --json.

    python scripts/bench_flickr8k.py --data $TEXTSIAM_DATA/flickr8k --random
    python scripts/bench_flickr8k.py --data $TEXTSIAM_DATA/flickr8k --preset flickr8k-effnet-minilm --out runs/f8k
    python scripts/bench_flickr8k.py --data $TEXTSIAM_DATA/flickr8k --preset flickr8k-effnet-minilm --out runs/f8k \\
        --label lr-1e-3 -- --lr 1e-3                      # flags after -- go to `textsiam train`
    python scripts/bench_flickr8k.py --data $TEXTSIAM_DATA/flickr8k --model runs/f8k   # evaluate a trained folder

Times are wall-clock on whatever machine runs it (label them; a shared machine is noisy) and the CPU seconds of the
training process (user + system: on a loaded machine the better measure of the work). Peak memory is the training
process's maximum resident set (``ru_maxrss`` of the child). Set ``TEXTSIAM_FEATURE_CACHE=DIR`` to keep the frozen
image features on disk between runs (the first run computes them, later recipes with the same frozen part read
them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

KEYS = ("t2i_r@1", "t2i_r@5", "t2i_r@10", "i2t_r@1", "i2t_r@5", "i2t_r@10", "accuracy", "roc_auc")


def train(args: argparse.Namespace) -> dict:
    """``textsiam train`` on the train split with dev choosing the epoch; wall seconds and peak RSS (GB)."""
    cli = [sys.executable, "-m", "textsiam", "train", "--preset", args.preset, "--quiet"]
    cli += [
        "--train",
        str(args.data / "Flickr_8k.trainImages.txt"),
        "--dev",
        str(args.data / "Flickr_8k.devImages.txt"),
    ]
    cli += ["--out", str(args.out), "--seed", str(args.seed), *args.train_flags]
    print("$", " ".join(cli), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cli, check=True)
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),  # what idle cores would need, summed
        "train_peak_gb": round(usage.ru_maxrss / 2**20, 2),  # Linux: ru_maxrss in kilobytes
    }


def measure(model, dev) -> dict:
    """Each dev image and caption encoded once: recall@K from the (images, captions) scores, and the match pairs'
    scores taken from the same matrix (a pair is an image row and a caption column); threshold: max accuracy."""
    import torch

    groups = dev.images
    _reuse_stored_features(model.left)
    with torch.inference_mode():
        u = model.encode(groups.refs, "left", 64)
        v = model.encode(groups.captions, "right", 64)
        matrix = model.similarity.pairwise(u, v).float().numpy()
    image_row = {ref: i for i, ref in enumerate(groups.refs)}
    caption_col = {text: k for k, text in enumerate(groups.captions)}  # a repeated caption scores the same
    pair_scores = matrix[[image_row[a] for a in dev.a], [caption_col[b] for b in dev.b]]
    return {**scores_row(matrix, groups.caption_image, pair_scores, dev.labels), "_matrix": matrix}


def _reuse_stored_features(tower) -> None:
    """A saved frozen image tower whose backbone is bit-identical to the ImageNet weights may read the image features
    stored by training (TEXTSIAM_FEATURE_CACHE); a loaded tower otherwise never does (its weights could differ)."""
    import torch

    from textsiam.encoders.effnet import EfficientNetLite0Encoder, pretrained_weights_path

    if not isinstance(tower, EfficientNetLite0Encoder):
        return
    state = torch.load(pretrained_weights_path(tower.variant), map_location="cpu", weights_only=True)
    own = tower.backbone.state_dict()
    if all(torch.equal(own[k], v) for k, v in state.items() if not k.startswith("_fc.")):
        tower.pretrained = True


def scores_row(matrix, caption_image, pair_scores, labels) -> dict:
    from textsiam.eval.metrics import binary_metrics
    from textsiam.eval.retrieval import retrieval_recall
    from textsiam.eval.threshold import select_threshold

    threshold = select_threshold(pair_scores, labels, "max-accuracy").threshold  # chosen on dev, measured on dev
    row = {**retrieval_recall(matrix, caption_image), **binary_metrics(pair_scores, labels, threshold)}
    return {**{k: round(float(row[k]), 4) for k in KEYS}, "threshold": float(threshold)}


def random_row(dev, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    groups = dev.images
    matrix = rng.random((len(groups), len(groups.captions)))
    return scores_row(matrix, groups.caption_image, rng.random(len(dev)), dev.labels)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(os.environ.get("TEXTSIAM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    p.add_argument("--data", type=Path, default=default / "flickr8k", help="the Flickr8k folder (data/README.md)")
    p.add_argument("--preset", default="flickr8k-effnet-minilm")
    p.add_argument("--model", help="evaluate this trained model folder instead of training")
    p.add_argument("--random", action="store_true", help="the random-ranking row")
    p.add_argument("--out", type=Path, help="the run folder to train into")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", help="the row's name in the table (default: preset or model)")
    p.add_argument("--json", default="runs/bench_flickr8k.jsonl", help="append the row here")
    p.add_argument("--save-scores", help="save the dev (images, captions) score matrix here (.npy)")
    p.add_argument("train_flags", nargs="*", help="after --: more `textsiam train` flags")
    args = p.parse_args()

    from textsiam.api import load_data
    from textsiam.models.io import create_model

    dev = load_data(args.data, format="flickr8k", split="dev", seed=args.seed)
    row: dict = {"label": args.label or ("random" if args.random else args.model or args.preset), "seed": args.seed}
    if args.random:
        row.update(random_row(dev, args.seed))
    else:
        if args.model is None:
            if args.out is None:
                p.error("--out is needed to train (or pass --model)")
            row.update(train(args))
        t0 = time.perf_counter()
        found = measure(create_model(str(args.model or args.out)), dev)
        matrix = found.pop("_matrix")
        row.update(found, eval_seconds=round(time.perf_counter() - t0, 1))
        if args.save_scores:  # the dev score matrix, for plots and comparisons without encoding again
            np.save(args.save_scores, matrix)
    print(json.dumps(row), flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    with open(args.json, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
