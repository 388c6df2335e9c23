"""``textsiam score``: similarity of one pair (--a/--b) or of every pair in a file (--pairs), plus match (true /
false) and the calibrated probability when the model carries a tuned decision. --pairs writes a TSV with the
input's columns followed by score, match and probability."""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import add_model_command, call_with_flags, data_kwargs, progress_bars


def register(sub) -> None:
    p = add_model_command(
        sub, "score", "score pairs of texts or images", __doc__, run, precision=True, pair_count=False
    )
    p.add_argument("--a", help="left text of one pair")
    p.add_argument("--b", help="right text of one pair")
    p.add_argument("--a-file", help="read the left text of one pair from this UTF-8 file (e.g. a headline)")
    p.add_argument("--b-file", help="read the right text of one pair from this UTF-8 file (e.g. an article body)")
    p.add_argument("--pairs", help="a file of pairs (any supported format)")
    p.add_argument("--image", action="append", help="image file (left side); repeat to rank images for one --text")
    p.add_argument("--text", action="append", help="text (right side); repeat to rank texts for one --image")
    p.add_argument("--image-dir", help="rank every image file in this folder for one --text")
    p.add_argument("--texts-file", help="rank the texts of this file (one per line) for one --image")
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

    if args.image or args.text or args.image_dir or args.texts_file:
        return _image_text(args)
    a, b = _text_or_file(args, "a"), _text_or_file(args, "b")
    if (a is None) != (b is None) or (a is None) == (args.pairs is None):
        raise ConfigError(
            "give either both --a TEXT (or --a-file) and --b TEXT (or --b-file), or --pairs FILE "
            "(or --image and --text)"
        )
    bars = progress_bars(args)
    if args.pairs is None:
        cols = call_with_flags(score_texts, args, a=[a], b=[b])
        print("  ".join(f"{k}: {v[0]}" for k, v in cols.items()))
        return 0
    n = call_with_flags(score_file, args, show_progress=bars, **data_kwargs(args))
    if args.out:
        print(f"wrote {n} scored pairs to {args.out}", file=sys.stderr)
    return 0


def _image_text(args: argparse.Namespace) -> int:
    """One image against one or more texts, or one text against one or more images: a ranked table."""
    from textsiam.api import rank_images_texts
    from textsiam.cli.common import print_table

    progress_bars(args)
    ranked = call_with_flags(rank_images_texts, args, images=args.image or (), texts=args.text or ())
    cols = ranked.columns
    rows = [[n + 1, *(c[n] for c in cols.values()), ranked.items[i]] for n, i in enumerate(ranked.order)]
    print(f"{'texts' if ranked.by_image else 'images'} ranked for: {ranked.query}")
    print_table(rows, ["rank", *cols, "text" if ranked.by_image else "image"])
    return 0
