"""``textsiam tune-threshold``: choose a decision threshold (and optionally a calibrator) on held-out labelled
pairs and save it as decision.json with the model (in place, or in a copy of the model at --out; a preset or
transformer name has no folder of its own, so it needs --out)."""

from __future__ import annotations

import argparse

from textsiam.cli.common import add_data_flags, data_kwargs, print_metrics


def register(sub) -> None:
    p = sub.add_parser("tune-threshold", help="fit and save a decision threshold", description=__doc__)
    p.add_argument("--model", required=True, help="preset, transformer name or saved model folder")
    p.add_argument("--data", required=True, help="held-out labelled pairs (a dev file, never the test file)")
    p.add_argument(
        "--strategy", default="youden", help="youden, max-accuracy, max-f1, eer, tpr-at-fpr, precision-at-recall"
    )
    p.add_argument("--target", type=float, help="target FPR (tpr-at-fpr) or recall (precision-at-recall)")
    p.add_argument("--calibrate", choices=["platt", "isotonic"], help="also fit a probability calibrator")
    p.add_argument("--cv", type=int, default=5, help="folds for the held-out estimate of the decision's metrics")
    p.add_argument("--bootstrap", type=int, default=0, help="resamples for 95%% confidence intervals (e.g. 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="save the model with its decision here instead of in place")
    p.add_argument("--batch-size", type=int, default=64)
    add_data_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textsiam.api import load_data, tune_threshold
    from textsiam.models.io import create_model, is_model_folder, save_model

    if args.out is None and not is_model_folder(args.model):
        raise ValueError(f"{args.model!r} is not a saved model folder: pass --out DIR to save a copy with the decision")
    model = create_model(args.model)
    data = load_data(args.data, **data_kwargs(args))
    decision = tune_threshold(
        model,
        data,
        args.strategy,
        target=args.target,
        calibrate=args.calibrate,
        cv=args.cv,
        bootstrap=args.bootstrap,
        seed=args.seed,
        batch_size=args.batch_size,
        show_progress=True,
    )
    print_metrics({"strategy": decision.strategy, "threshold": decision.threshold, **decision.metrics})
    for name, (low, high) in decision.metrics.get("bootstrap_ci", {}).items():
        print(f"  95% CI {name}: [{low:.4f}, {high:.4f}]")
    if args.out:
        save_model(model, args.out)
        print(f"saved the model with its decision to {args.out}")
    else:
        decision.to_json(f"{args.model}/decision.json")
        print(f"wrote {args.model}/decision.json")
    return 0
