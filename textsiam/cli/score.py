"""``textsiam score``: similarity of one pair (--a/--b) or of every pair in a file (--pairs), plus match / no
match and the calibrated probability when the model carries a tuned decision."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import add_data_flags, data_kwargs


def register(sub) -> None:
    p = sub.add_parser("score", help="score pairs of texts", description=__doc__)
    p.add_argument("--model", required=True, help="preset, transformer name or saved model folder")
    p.add_argument("--a", help="left text of one pair")
    p.add_argument("--b", help="right text of one pair")
    p.add_argument("--pairs", help="a file of pairs (any supported format)")
    p.add_argument("--out", help="with --pairs: write a TSV with a score column here (default: stdout)")
    p.add_argument("--batch-size", type=int, default=64)
    add_data_flags(p)
    p.set_defaults(func=run)


def _decide(model, scores):
    cols: dict[str, list] = {"score": [f"{s:.6f}" for s in scores]}
    if model.decision is not None:
        cols["match"] = ["match" if m else "no match" for m in model.decision.predict(scores)]
        if model.decision.calibrator is not None:
            cols["probability"] = [f"{p:.4f}" for p in model.decision.predict_proba(scores)]
    return cols


def run(args: argparse.Namespace) -> int:
    from textsiam.api import load_data, score_pairs
    from textsiam.models.io import create_model

    if (args.a is None) != (args.b is None) or (args.a is None) == (args.pairs is None):
        raise ValueError("give either both --a TEXT and --b TEXT, or --pairs FILE")
    model = create_model(args.model)
    if args.pairs is None:
        cols = _decide(model, score_pairs(model, [args.a], [args.b]))
        print("  ".join(f"{k}: {v[0]}" for k, v in cols.items()))
        return 0
    from textsiam.data.writer import write_tsv

    data = load_data(args.pairs, **data_kwargs(args))
    a, b = data.a, data.b  # each property access rebuilds the column: read once
    cols = _decide(model, score_pairs(model, a, b, batch_size=args.batch_size, show_progress=True))
    labelled = data.label_kind != "none"
    columns = [a, b] + ([[f"{v:g}" for v in data.labels]] if labelled else []) + list(cols.values())
    header = ["text_a", "text_b"] + (["label"] if labelled else []) + list(cols)
    write_tsv(args.out, header, zip(*columns))
    if args.out:
        print(f"wrote {len(data)} scored pairs to {args.out}", file=sys.stderr)
    return 0
