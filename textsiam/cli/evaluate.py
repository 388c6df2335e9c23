"""``textsiam evaluate``: metrics of a model on a labelled pair file (graded: Spearman/Pearson; binary: ROC AUC,
average precision, accuracy/F1/precision/recall at the model's saved threshold, and the Brier score and expected
calibration error when the model is calibrated)."""

from __future__ import annotations

import argparse

from textsiam.cli.common import (
    add_model_command,
    call_with_flags,
    data_kwargs,
    print_classes,
    print_metrics,
    progress_bars,
    write_json_file,
)


def register(sub) -> None:
    data = "labelled pairs: a file, or e.g. digits:test"
    p = add_model_command(
        sub, "evaluate", "evaluate a model on labelled pairs", __doc__, run, data=data, precision=True
    )
    p.add_argument(
        "--json",
        help="write the metrics as a JSON object to this file (a multi-class head's per-class metrics, confusion "
        "matrix and FNC score under 'classes')",
    )
    p.add_argument("--report", help="write report.html and its plots into this folder")


def run(args: argparse.Namespace) -> int:
    from textsiam.api import evaluate

    metrics, _ = call_with_flags(evaluate, args, show_progress=progress_bars(args), **data_kwargs(args))
    metrics = {"data": str(args.data), **metrics}
    print_metrics(metrics)
    if "classes" in metrics:
        print_classes(metrics["classes"])
    if args.json:
        write_json_file(args.json, metrics)
    if args.report:
        print(f"wrote {args.report}/report.html")
    return 0
