"""``textsiam train``: fine-tune a preset (or a saved model) on a pair file; the best dev epoch lands in --out.

Precedence of settings: TrainConfig defaults < the preset's train defaults < --config FILE.yaml < flags.
The run folder gets the model, train_config.yaml (the resolved settings), train_log.jsonl, train_summary.json,
dev_split.tsv (with --dev-fraction) and decision.json (with --threshold-strategy).
"""

from __future__ import annotations

import argparse
import sys

from textsiam.api.settings import AFTER, BEFORE, READ_KEYS, RunSettings, TrainConfig, setting_names
from textsiam.cli.common import (
    add_command,
    add_data_flags,
    add_field_flags,
    add_run_flags,
    data_kwargs,
    print_metrics,
    progress_bars,
)


def register(sub) -> None:
    """The flags come from the settings' declarations (RunSettings, TrainConfig, ReadOptions: help text and kind in
    each field's metadata); --config, --resume and --overwrite are fit's own."""
    p = add_command(sub, "train", "fine-tune a model on pairs", __doc__, run, raw=True)
    add_field_flags(p, RunSettings.flag_fields(BEFORE))
    p.add_argument("--config", help="YAML file with any of these options; flags override it (default: none)")
    add_field_flags(p, TrainConfig.flag_fields())
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from OUT/checkpoint (default: off)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in OUT: its files are deleted first; refused when OUT also holds files "
        "textsiam did not write (default: an OUT holding a run is an error)",
    )
    add_field_flags(p, RunSettings.flag_fields(AFTER))
    add_run_flags(p, batch_size=False)
    add_data_flags(p)


def run(args: argparse.Namespace) -> int:
    from textsiam.api import fit

    names = [name for name in setting_names() if name not in READ_KEYS]  # the reading ones: data_kwargs
    settings = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    bars = progress_bars(args)
    result = fit(
        config=args.config,
        resume=args.resume,
        overwrite=args.overwrite,
        show_progress=bars,
        epoch_lines=not args.quiet,
        echo=lambda line: print(line, file=sys.stderr),
        **settings,
        **data_kwargs(args),
    )
    if not result.main:  # under torchrun rank 0 reports
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
