"""``textsiam evaluate``: metrics of a model on a labelled pair file (graded: Spearman/Pearson; binary: ROC AUC,
average precision, and accuracy/F1/precision/recall at the model's saved threshold)."""

from __future__ import annotations

import argparse

from textsiam.cli.common import add_data_flags, print_metrics, write_json_file


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model on labelled pairs", description=__doc__)
    p.add_argument("--model", required=True, help="preset, transformer name or saved model folder")
    p.add_argument("--data", required=True, help="labelled pairs: a file, or e.g. digits:test")
    p.add_argument("--json", help="write the metrics as a flat JSON object to this file")
    p.add_argument("--report", help="write report.html and its plots into this folder")
    p.add_argument("--batch-size", type=int, default=64)
    add_data_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from textsiam.api import evaluate, load_data
    from textsiam.cli.common import data_kwargs
    from textsiam.models.io import create_model

    data = load_data(args.data, **data_kwargs(args))
    model = create_model(args.model)
    metrics, scores = evaluate(model, data, batch_size=args.batch_size, show_progress=True)
    metrics = {"data": str(args.data), **metrics}
    print_metrics(metrics)
    if args.json:
        write_json_file(args.json, metrics)
    if args.report:
        from textsiam.eval.report import write_report

        log = Path(args.model) / "train_log.jsonl"
        text = isinstance(data.a[0], str)
        path = write_report(
            args.report,
            scores,
            data.labels,
            graded=data.label_kind == "graded",
            decision=model.decision,
            texts_a=data.a if text else None,
            texts_b=data.b if text else None,
            train_log=log if log.exists() else None,
            title=f"textsiam: {args.model} on {args.data}",
        )
        print(f"wrote {path}")
    return 0
