"""``textsiam train``: fine-tune a preset (or a saved model) on a pair file; the best dev epoch lands in --out.

Precedence of settings: TrainConfig defaults < the preset's train defaults < --config FILE.yaml < flags.
The run folder gets the model, train_config.yaml (the resolved settings), train_log.jsonl, train_summary.json,
dev_split.tsv (with --dev-fraction) and decision.json (with --threshold-strategy).
"""

from __future__ import annotations

import argparse
import sys

from textsiam.cli.common import (
    MODEL_HELP,
    Names,
    add_command,
    add_data_flags,
    add_run_flags,
    print_metrics,
    progress_bars,
)
from textsiam.registry import CALIBRATORS, LOSSES, STRATEGIES

# TrainConfig fields set by flags of the same name, with their help text; the default is read from TrainConfig
_TRAIN_FLAGS = {
    "epochs": (int, "passes over the training pairs"),
    "batch_size": (int, "pairs per optimizer step"),
    "lr": (float, "peak learning rate of AdamW"),
    "seed": (int, "seed of initial weights, batch order and the carved dev split"),
    "warmup_ratio": (float, "fraction of the steps with a linear learning-rate warmup"),
    "weight_decay": (float, "AdamW weight decay (0 turns it off)"),
    "max_grad_norm": (float, "gradient clipping norm (0 turns it off)"),
}


def register(sub) -> None:
    p = add_command(sub, "train", "fine-tune a model on pairs", __doc__, run, raw=True)
    p.add_argument("--preset", help="preset to start from (textsiam list presets) (default: none)")
    p.add_argument("--model", help=f"or: the model to start from: {MODEL_HELP} (default: none)")
    p.add_argument("--train", help="training pairs: a file, or an embedded set such as digits:train (required)")
    p.add_argument("--dev", help="dev pairs: selects the best epoch (a file, or e.g. digits:dev) (default: none)")
    p.add_argument(
        "--dev-fraction",
        type=float,
        help="carve this fraction of --train off as dev when --dev is absent; text pairs are saved to "
        "OUT/dev_split.tsv (default: no dev split)",
    )
    p.add_argument("--out", help="output folder (model, train_log.jsonl, train_config.yaml) (required)")
    p.add_argument("--config", help="YAML file with any of these options; flags override it (default: none)")
    loss = p.add_argument(
        "--loss",
        metavar="LOSS",
        help="%(names)s, or two joined by '+' (e.g. cosent+multiple-negatives) %(train_default)s",
    )
    loss.names, loss.train_default = (
        Names(LOSSES),
        _Default("loss"),
    )  # listed in the help, not argparse choices: a combined loss is no single name
    for name, (kind, text) in _TRAIN_FLAGS.items():
        flag = p.add_argument(f"--{name.replace('_', '-')}", type=kind, help=f"{text} %(train_default)s")
        flag.train_default = _Default(name)
    p.add_argument(
        "--eval-metric",
        help="dev metric that picks the best epoch (default: spearman for graded, roc_auc for binary; a multi-class "
        "head: fnc_relative for the FNC-1 stances, else macro_f1; class_accuracy, roc_auc also)",
    )
    p.add_argument("--amp", action="store_true", default=None, help="bfloat16 autocast on CUDA and CPU (default: off)")
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from OUT/checkpoint (default: off)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in OUT: its files are deleted first; refused when OUT also holds files "
        "textsiam did not write (default: an OUT holding a run is an error)",
    )
    p.add_argument(
        "--keep-checkpoint",
        action="store_true",
        default=None,
        help="keep the resumable OUT/checkpoint after a successful run (default: removed)",
    )
    p.add_argument(
        "--threshold-strategy",
        choices=STRATEGIES,
        metavar="STRATEGY",
        help="after training, tune a decision threshold on the dev pairs and save it as decision.json: "
        "%(choices)s (default: none)",
    )
    p.add_argument(
        "--calibrate",
        choices=CALIBRATORS,
        metavar="CALIBRATOR",
        help="with --threshold-strategy: also fit a probability calibrator: %(choices)s (default: none)",
    )
    add_run_flags(p, batch_size=False)
    add_data_flags(p)


class _Default:
    """A TrainConfig default for a help text, read when the help is shown (importing textsiam.train loads torch)."""

    def __init__(self, field: str) -> None:
        self.field = field

    def __str__(self) -> str:
        from textsiam.train.config import TrainConfig

        return f"(default: the preset's, else {getattr(TrainConfig(), self.field)})"


def run(args: argparse.Namespace) -> int:
    from textsiam.api import fit
    from textsiam.distributed import context

    options = {
        k: v for k, v in vars(args).items() if k not in ("func", "command", "config", "resume", "overwrite", "quiet")
    }
    bars = progress_bars(args)
    result = fit(
        config=args.config,
        resume=args.resume,
        overwrite=args.overwrite,
        show_progress=bars,
        epoch_lines=not args.quiet,
        echo=lambda line: print(line, file=sys.stderr),
        **options,
    )
    if not context().is_main:  # under torchrun rank 0 reports
        return 0
    print_metrics({k: v for k, v in result.summary.items() if v is not None})
    if result.decision is not None:
        d = result.decision
        oof = (d.data or {}).get("plus_out_of_fold_training_pairs")  # ridge-map with threshold_from_cv
        pairs = f"{result.dev_pairs} dev pairs" + (f" + {oof} out-of-fold training pairs" if oof else "")
        held = "held-out" if (d.data or {}).get("held_out", True) else "NOT held-out (dev = training pairs)"
        print(
            f"decision threshold {d.threshold:.4f} ({d.strategy}) on {pairs}; {held} "
            f"accuracy {d.metrics['accuracy']:.4f}, F1 {d.metrics['f1']:.4f}"
        )
    print(f"model saved to {result.out}")
    return 0
