"""``textsiam score``: similarity of one pair (--a/--b) or of every pair in a file (--pairs), plus match (true /
false) and the calibrated probability when the model carries a tuned decision. --pairs writes a TSV with the
input's columns followed by score, match and probability."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import add_data_flags, add_quantize_flag, add_run_flags, data_kwargs, plain, progress_bars


def register(sub) -> None:
    p = sub.add_parser("score", help="score pairs of texts", description=plain(__doc__))
    p.add_argument("--model", required=True, help="preset, transformer name or saved model folder")
    p.add_argument("--a", help="left text of one pair")
    p.add_argument("--b", help="right text of one pair")
    p.add_argument("--pairs", help="a file of pairs (any supported format)")
    p.add_argument("--out", help="with --pairs: write the scored TSV here (default: stdout)")
    add_run_flags(p)
    add_data_flags(p)
    add_quantize_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textsiam.api import score_file, score_texts
    from textsiam.errors import ConfigError

    if (args.a is None) != (args.b is None) or (args.a is None) == (args.pairs is None):
        raise ConfigError("give either both --a TEXT and --b TEXT, or --pairs FILE")
    bars = progress_bars(args)
    if args.pairs is None:
        cols = score_texts(
            args.model, [args.a], [args.b], batch_size=args.batch_size, device=args.device, quantize=args.quantize
        )
        print("  ".join(f"{k}: {v[0]}" for k, v in cols.items()))
        return 0
    n = score_file(
        args.model,
        args.pairs,
        args.out,
        batch_size=args.batch_size,
        show_progress=bars,
        device=args.device,
        quantize=args.quantize,
        **data_kwargs(args),
    )
    if args.out:
        print(f"wrote {n} scored pairs to {args.out}", file=sys.stderr)
    return 0
