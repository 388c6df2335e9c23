"""``textsiam tune-threshold``: choose a decision threshold (and optionally a calibrator) on held-out labelled
pairs and save it as decision.json with the model (in place, or in a copy of the model at --out; a preset or
transformer name has no folder of its own, so it needs --out)."""

from __future__ import annotations

import argparse

from textsiam.cli.common import add_model_command, call_with_flags, data_kwargs, print_metrics, progress_bars
from textsiam.registry import CALIBRATORS, STRATEGIES


def register(sub) -> None:
    data = "held-out labelled pairs (a dev file, never the test file)"
    p = add_model_command(sub, "tune-threshold", "fit and save a decision threshold", __doc__, run, data=data)
    p.add_argument(
        "--strategy",
        default="youden",
        choices=STRATEGIES,
        metavar="STRATEGY",
        help="%(choices)s (default: %(default)s)",
    )
    p.add_argument("--target", type=float, help="target FPR (tpr-at-fpr) or recall (precision-at-recall)")
    p.add_argument(
        "--calibrate",
        choices=CALIBRATORS,
        metavar="CALIBRATOR",
        help="also fit a probability calibrator: %(choices)s",
    )
    p.add_argument("--cv", type=int, default=5, help="folds for the held-out estimate of the decision's metrics")
    p.add_argument("--bootstrap", type=int, default=0, help="resamples for 95%% confidence intervals (e.g. 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="save the model with its decision here instead of in place")


def run(args: argparse.Namespace) -> int:
    from textsiam.api import tune_threshold

    bars, read = progress_bars(args), data_kwargs(args)
    decision = call_with_flags(tune_threshold, args, show_progress=bars, save_to=args.out, **read)
    print_metrics({"strategy": decision.strategy, "threshold": decision.threshold, **decision.metrics})
    for name, (low, high) in decision.metrics.get("bootstrap_ci", {}).items():
        print(f"  95% CI {name}: [{low:.4f}, {high:.4f}]")
    print(f"saved the model with its decision to {args.out}" if args.out else f"wrote {args.model}/decision.json")
    return 0
