"""textsiam export: write a model as a sentence-transformers folder (with its decision; a pseudo-siamese model as a
Router, or OUT/left and OUT/right), a transformers folder, or an ONNX folder (the sentence-transformers folder plus
onnx/model.onnx; --quantize int8 adds onnx/model_qint8_*.onnx), for use without textsiam."""

from __future__ import annotations

import argparse

from textsiam.cli.common import MODEL_HELP, add_command, call_with_flags
from textsiam.registry import EXPORTERS


def register(sub) -> None:
    p = add_command(sub, "export", "export a model for sentence-transformers, transformers or ONNX", __doc__, run)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument(
        "--format",
        default="sentence-transformers",
        choices=EXPORTERS,  # checked while parsing, before the model loads; `textsiam list exporters` describes them
        metavar="FORMAT",
        help="%(choices)s (default: %(default)s): `textsiam list exporters` says what each writes",
    )
    p.add_argument("--out", required=True, help="a new (or empty) folder to write")
    p.add_argument(
        "--quantize",
        choices=["int8"],
        default=None,
        help="--format onnx: also write an int8 model (onnx/model_qint8_*)",
    )


def run(args: argparse.Namespace) -> int:
    from textsiam.api import export

    done = call_with_flags(export, args)
    print(f"wrote {done.out} ({args.format}{', ' + args.quantize if args.quantize else ''})")
    dropped = done.dropped
    if dropped:
        print(
            f"note: the {args.format} export holds no {', '.join(dropped)}; "
            "use --format sentence-transformers to keep them"
        )
    return 0
