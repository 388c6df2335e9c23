"""``textsiam demo``: offline, no data directory needed, a few minutes on 2 CPU cores.

1. Scores the project's demo sentence pairs (demo_pairs.tsv, shipped with the package) with the pretrained
   MiniLM twin.
2. Trains the seed's MLP twin (digits-mlp-twin) with the contrastive loss on embedded digit pairs, picks a
   threshold on the dev split, and reports test pair accuracy and ROC AUC.
"""

from __future__ import annotations

import argparse
from typing import Any

from textsiam.cli.common import add_command, print_metrics, print_table, progress_bars


def register(sub) -> None:
    p = add_command(sub, "demo", "run the offline demo (pretrained scoring + digits twin)", __doc__, run, raw=True)
    p.add_argument("--out", help="keep the trained digits model here (default: a temporary folder)")
    p.add_argument("--epochs", type=int, default=None, help="digits training epochs (default: the preset's)")
    p.add_argument("--seed", type=int, default=0, help="digits training seed: pairs, initial weights, batch order")
    p.add_argument("--skip-pretrained", action="store_true", help="skip part 1 (no MiniLM needed)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from textsiam.api import demo

    bars = progress_bars(args)  # no bars without a terminal or with --quiet (transformers' included)
    demo(
        out=args.out,
        epochs=args.epochs,
        seed=args.seed,
        pretrained=not args.skip_pretrained,
        show_progress=bars,
        report=print_part,
    )
    if args.out:
        print(f"model saved to {args.out}")
    return 0


def print_part(part: str, result: Any) -> None:
    """Print one finished part of the demo (``textsiam.api.demo`` calls this as it goes)."""
    if part == "pretrained":
        rows = [[f"{s:+.3f}", f"{label:g}", _clip(a), _clip(b)] for s, label, a, b in result.rows]
        print(
            f"\n== 1. pretrained all-MiniLM-L6-v2 twin, cosine similarity of {len(rows)} pairs in {result.source.name}"
        )
        print_table(rows, ["cosine", "label", "text a", "text b"])
    elif part == "digits-start":
        n = result.pairs
        print(
            f"\n== 2. digits-mlp-twin, {result.loss} loss: {n['train']} train / {n['dev']} dev / {n['test']} test pairs"
        )
    elif part == "digits":
        m = result.metrics
        print(f"threshold {m['threshold']:.4f} chosen on dev (max-accuracy); test pairs:")
        print_metrics({k: m[k] for k in ("n", "accuracy", "f1", "roc_auc", "average_precision")})
        acc, auc, seconds = m["accuracy"], m["roc_auc"], m["seconds"]
        print(f"test pair accuracy {acc:.4f}, ROC AUC {auc:.4f} (seed {result.seed}, {seconds:.1f} s)")


def _clip(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
