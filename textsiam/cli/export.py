"""textsiam export: write a model's towers as a sentence-transformers folder or a transformers folder, for use
without textsiam (a pseudo-siamese model writes OUT/left and OUT/right)."""

from __future__ import annotations

import argparse

from textsiam.cli.common import MODEL_HELP, add_command


def register(sub) -> None:
    # The formats are checked by textsiam.models.export (EXPORT_FORMATS); importing it here would load torch for --help
    p = add_command(sub, "export", "export a model for sentence-transformers or transformers", __doc__, run)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument(
        "--format",
        default="sentence-transformers",
        help="sentence-transformers (a folder SentenceTransformer(OUT) loads, with pooling, Dense, Normalize and "
        "projection) or hf (transformer + tokenizer for AutoModel.from_pretrained) (default: %(default)s)",
    )
    p.add_argument("--out", required=True, help="a new (or empty) folder to write")


def run(args: argparse.Namespace) -> int:
    from textsiam.models.export import check_format, dropped_parts, export_model
    from textsiam.models.io import create_model

    check_format(args.format)  # before loading the model
    model = create_model(args.model)
    out = export_model(model, args.out, format=args.format)
    print(f"wrote {out} ({args.format})")
    dropped = dropped_parts(model, args.format)
    if dropped:
        print(
            f"note: a transformers folder holds no {', '.join(dropped)}; "
            "use --format sentence-transformers to keep them"
        )
    return 0
