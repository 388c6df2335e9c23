"""``textsiam demo``: offline, no data directory needed, a few minutes on 2 CPU cores.

1. Scores the project's demo sentence pairs (demo_pairs.tsv, shipped with the package) with the pretrained
   MiniLM twin.
2. Trains the seed's MLP twin (digits-mlp-twin) with the contrastive loss on embedded digit pairs, picks a
   threshold on the dev split, and reports test pair accuracy and ROC AUC.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from textsiam.cli.common import add_command, print_metrics, print_table, progress_bars

DEMO_PAIRS = Path(__file__).resolve().parent / "demo_pairs.tsv"  # package data: ships in the wheel


def register(sub) -> None:
    p = add_command(sub, "demo", "run the offline demo (pretrained scoring + digits twin)", __doc__, run, raw=True)
    p.add_argument("--out", help="keep the trained digits model here (default: a temporary folder)")
    p.add_argument("--epochs", type=int, default=None, help="digits training epochs (default: the preset's)")
    p.add_argument("--seed", type=int, default=0, help="digits training seed: pairs, initial weights, batch order")
    p.add_argument("--skip-pretrained", action="store_true", help="skip part 1 (no MiniLM needed)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def score_demo_pairs() -> None:
    from textsiam.api import load_data, score_pairs
    from textsiam.models.io import create_model

    data = load_data(DEMO_PAIRS)
    model = create_model("minilm-twin")
    scores = score_pairs(model, data.a, data.b)
    print(f"\n== 1. pretrained all-MiniLM-L6-v2 twin, cosine similarity of {len(data)} pairs in {DEMO_PAIRS.name}")
    order = sorted(range(len(data)), key=lambda i: -scores[i])  # most similar first
    a, b, labels = data.a, data.b, data.labels
    rows = [[f"{scores[i]:+.3f}", f"{labels[i]:g}", _clip(a[i]), _clip(b[i])] for i in order]
    print_table(rows, ["cosine", "label", "text a", "text b"])


def _clip(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


PAIRS_PER_IMAGE = 8
"""Training pairs per training image (the data default is two): more distinct pairs, same images, no leakage."""


def train_digits(
    out: Path, epochs: int | None = None, quiet: bool = True, seed: int = 0, overrides: dict | None = None
) -> dict:
    """Train digits-mlp-twin as the demo does; ``seed`` draws the training pairs, initial weights and batch order
    (the image split and the dev/test pairs stay fixed). Returns the test metrics plus threshold and seconds."""
    from textsiam.api import evaluate, tune_threshold
    from textsiam.data import digit_pairs
    from textsiam.models.io import create_model, load_model, preset_config, save_model
    from textsiam.train import TrainConfig, Trainer

    cfg = {**preset_config("digits-mlp-twin")["train"], "seed": seed, **(overrides or {})}
    if epochs:
        cfg["epochs"] = epochs
    per_image = cfg.pop("pairs_per_image", PAIRS_PER_IMAGE)
    dev_per_image = cfg.pop("dev_pairs_per_image", 2)
    test = digit_pairs("test")
    dev = digit_pairs("dev", n_pairs=dev_per_image * len(digit_pairs("dev")) // 2)
    train = digit_pairs("train", n_pairs=per_image * len(digit_pairs("train")) // 2, seed=seed)
    print(f"\n== 2. digits-mlp-twin, {cfg['loss']} loss: {len(train)} train / {len(dev)} dev / {len(test)} test pairs")
    t0 = time.perf_counter()
    model = create_model("digits-mlp-twin", seed=seed)
    Trainer(model, TrainConfig.from_dict(cfg), train, dev, out, show_progress=not quiet).train()
    model = load_model(out)  # the best epoch on dev
    decision = tune_threshold(model, dev, "max-accuracy", calibrate="platt")
    save_model(model, out)
    metrics, _ = evaluate(model, test)
    seconds = time.perf_counter() - t0
    print(f"threshold {decision.threshold:.4f} chosen on dev (max-accuracy); test pairs:")
    print_metrics({k: metrics[k] for k in ("n", "accuracy", "f1", "roc_auc", "average_precision")})
    acc, auc = metrics["accuracy"], metrics["roc_auc"]
    print(f"test pair accuracy {acc:.4f}, ROC AUC {auc:.4f} (seed {seed}, {seconds:.1f} s)")
    return {**metrics, "threshold": decision.threshold, "seconds": seconds}


def run(args: argparse.Namespace) -> int:
    quiet = not progress_bars(args)  # no bars without a terminal or with --quiet (transformers' included)
    if not args.skip_pretrained:
        score_demo_pairs()
    if args.out:
        train_digits(Path(args.out), args.epochs, quiet, args.seed)
        print(f"model saved to {args.out}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            train_digits(Path(tmp), args.epochs, quiet, args.seed)
    return 0
