"""``textsiam train``: fine-tune a preset (or a saved model) on a pair file; the best dev checkpoint lands in --out.

Precedence of settings: TrainConfig defaults < the preset's ``train`` defaults < ``--config FILE.yaml`` < flags.
The resolved settings are written to ``OUT/train_config.yaml``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from textsiam.cli.common import add_data_flags, print_metrics

# flags that set TrainConfig fields of the same name; the run options below are everything else a YAML may set
_TRAIN_FLAGS = (
    "loss",
    "epochs",
    "batch_size",
    "lr",
    "seed",
    "warmup_ratio",
    "weight_decay",
    "max_grad_norm",
    "device",
    "amp",
    "eval_metric",
)
_RUN_KEYS = (
    "preset",
    "model",
    "train",
    "dev",
    "out",
    "dev_fraction",
    "format",
    "text_a",
    "text_b",
    "label",
    "limit",
    "label_range",
    "threshold_strategy",
    "calibrate",
)


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="fine-tune a model on pairs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", help="preset to start from (textsiam list presets)")
    p.add_argument("--model", help="or: a saved model folder / transformer name to start from")
    p.add_argument("--train", help="training pairs: a file, or an embedded set such as digits:train")
    p.add_argument("--dev", help="dev pairs: selects the best epoch (a file, or e.g. digits:dev)")
    p.add_argument("--dev-fraction", type=float, help="carve this fraction of --train off as dev when --dev is absent")
    p.add_argument("--out", help="output folder (model, train_log.jsonl, train_config.yaml)")
    p.add_argument("--config", help="YAML file with any of these options (flags override it)")
    p.add_argument("--loss", help="loss name (textsiam list losses)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--warmup-ratio", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--max-grad-norm", type=float)
    p.add_argument("--eval-metric", help="dev metric that picks the best epoch (default: spearman / roc_auc)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--amp", action="store_true", default=None, help="bfloat16 autocast on CUDA")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument(
        "--threshold-strategy",
        help="after training, tune a decision threshold on the dev pairs "
        "(youden, max-accuracy, max-f1, ...) and save it with the model",
    )
    p.add_argument("--calibrate", choices=["platt", "isotonic"], help="with --threshold-strategy: also calibrate")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_data_flags(p)
    p.set_defaults(func=run)


def resolve(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Merge preset defaults, YAML and flags into (run options, TrainConfig fields)."""
    import yaml

    from textsiam.errors import ConfigError
    from textsiam.models.io import preset_config
    from textsiam.train.config import TrainConfig

    file_values: dict[str, Any] = {}
    if args.config:
        file_values = yaml.safe_load(Path(args.config).read_text()) or {}
        if not isinstance(file_values, dict):
            raise ConfigError(f"{args.config}: expected a mapping of options")
        unknown = set(file_values) - set(_RUN_KEYS) - set(TrainConfig.field_names())
        if unknown:
            raise ConfigError(f"{args.config}: unknown option(s) {sorted(unknown)}")
    flags = {k: v for k, v in vars(args).items() if v is not None}
    run = {k: flags.get(k, file_values.get(k)) for k in _RUN_KEYS}
    if not run["preset"] and not run["model"]:
        raise ConfigError("say which model to train: --preset NAME (textsiam list presets) or --model DIR")
    for key in ("train", "out"):
        if not run[key]:
            raise ConfigError(f"--{key} is required (as a flag or in --config)")
    train: dict[str, Any] = dict(preset_config(run["preset"]).get("train", {})) if run["preset"] else {}
    train.update({k: v for k, v in file_values.items() if k in TrainConfig.field_names()})
    train.update({k: flags[k] for k in _TRAIN_FLAGS if k in flags})
    return run, train


def tune_on_dev(out: Path, dev_data, strategy: str, calibrate: str | None) -> None:
    from textsiam.api import tune_threshold
    from textsiam.models.io import load_model

    model = load_model(out)  # the best epoch
    decision = tune_threshold(model, dev_data, strategy, calibrate=calibrate)
    decision.to_json(out / "decision.json")
    print(
        f"decision threshold {decision.threshold:.4f} ({strategy}) on {len(dev_data)} dev pairs; held-out "
        f"accuracy {decision.metrics['accuracy']:.4f}, F1 {decision.metrics['f1']:.4f}"
    )


def run(args: argparse.Namespace) -> int:
    import yaml

    from textsiam.api import load_data
    from textsiam.atomic import atomic_write_text
    from textsiam.eval import STRATEGIES
    from textsiam.models.io import create_model
    from textsiam.train import TrainConfig, Trainer

    run_opts, train_opts = resolve(args)
    config = TrainConfig.from_dict(train_opts)
    if run_opts["threshold_strategy"]:  # an unknown name fails before training
        STRATEGIES.get(run_opts["threshold_strategy"])
    if run_opts["threshold_strategy"] and not (run_opts["dev"] or run_opts["dev_fraction"]):
        raise ValueError("--threshold-strategy needs dev pairs: pass --dev FILE or --dev-fraction F")
    fmt = {k: run_opts[k] for k in ("format", "text_a", "text_b", "label", "limit", "label_range")}
    train_data = load_data(run_opts["train"], **fmt, seed=config.seed)
    dev_data = load_data(run_opts["dev"], **fmt, seed=config.seed) if run_opts["dev"] else None
    out = Path(run_opts["out"])
    out.mkdir(parents=True, exist_ok=True)
    if dev_data is None and run_opts["dev_fraction"]:
        train_data, dev_data = train_data.split(run_opts["dev_fraction"], seed=config.seed)
        print(f"carved {len(dev_data)} dev pairs off --train")
        if dev_data.a and isinstance(dev_data.a[0], str):  # so thresholds can be re-tuned on exactly these pairs
            dev_data.to_tsv(out / "dev_split.tsv")
            print(f"  saved them to {out / 'dev_split.tsv'}")
    resolved = {**{k: v for k, v in run_opts.items() if v is not None}, **config.to_dict()}
    atomic_write_text(out / "train_config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    model = create_model(run_opts["model"] or run_opts["preset"], seed=config.seed)
    print(f"training on {len(train_data)} pairs" + (f", dev {len(dev_data)} pairs" if dev_data else ""))
    summary = Trainer(model, config, train_data, dev_data, out, show_progress=not args.quiet).train(args.resume)
    print_metrics({k: v for k, v in summary.items() if v is not None})
    if run_opts["threshold_strategy"]:
        tune_on_dev(out, dev_data, run_opts["threshold_strategy"], run_opts["calibrate"])
    print(f"model saved to {out}")
    return 0
