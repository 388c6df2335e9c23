"""``textsiam score``: similarity of one pair (--a/--b) or of every pair in a file (--pairs), plus match (true /
false) and the calibrated probability when the model carries a tuned decision. --pairs writes a TSV with the
input's columns followed by score, match and probability."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import add_model_command, data_kwargs, progress_bars


def register(sub) -> None:
    p = add_model_command(sub, "score", "score pairs of texts", __doc__, run, quantize=True)
    p.add_argument("--a", help="left text of one pair")
    p.add_argument("--b", help="right text of one pair")
    p.add_argument("--a-file", help="read the left text of one pair from this UTF-8 file (e.g. a headline)")
    p.add_argument("--b-file", help="read the right text of one pair from this UTF-8 file (e.g. an article body)")
    p.add_argument("--pairs", help="a file of pairs (any supported format)")
    p.add_argument("--out", help="with --pairs: write the scored TSV here (default: stdout)")


def _text_or_file(args: argparse.Namespace, side: str) -> str | None:
    """--a / --b, or the text of --a-file / --b-file (a UTF-8 file, e.g. an article body)."""
    from pathlib import Path

    from textsiam.errors import ConfigError, DataError

    text, path = getattr(args, side), getattr(args, f"{side}_file")
    if path is None:
        return text
    if text is not None:
        raise ConfigError(f"give --{side} TEXT or --{side}-file FILE, not both")
    p = Path(path)
    if not p.is_file():
        raise DataError(f"--{side}-file: file not found; pass the path of a UTF-8 text file", path=str(p))
    try:
        content = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"--{side}-file: not valid UTF-8; re-save the file as UTF-8", path=str(p)) from None
    if not content.strip():
        raise DataError(f"--{side}-file: the file is empty; it must hold the text to score", path=str(p))
    return content


def run(args: argparse.Namespace) -> int:
    from textsiam.api import score_file, score_texts
    from textsiam.errors import ConfigError

    a, b = _text_or_file(args, "a"), _text_or_file(args, "b")
    if (a is None) != (b is None) or (a is None) == (args.pairs is None):
        raise ConfigError("give either both --a TEXT (or --a-file) and --b TEXT (or --b-file), or --pairs FILE")
    bars = progress_bars(args)
    if args.pairs is None:
        cols = score_texts(args.model, [a], [b], batch_size=args.batch_size, device=args.device, quantize=args.quantize)
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
