"""FNC-1 title-body consistency on the official hold-out split of train (dev): one row per model.

Dev = the FNC-1 baseline's hold-out: 20 % of the train bodies (``random.Random(1489215)``), no body on both sides.
Models that train select their best epoch and their threshold on ``val``, a further 10 % of the remaining bodies
(seed 0); models that do not train (tf-idf, zero-shot MiniLM) take their threshold from all of train. Reported on dev:
related/unrelated ROC AUC, accuracy and F1 at the ROC (Youden) threshold, and for multi-class heads the 4-way class
accuracy, macro F1 and FNC score (share of the maximum); training and evaluation seconds on this machine.

    python scripts/bench_fnc1.py --models tfidf-twin minilm-zero-shot --json runs/fnc1/bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textsiam.data import PairData, read_pairs  # noqa: E402
from textsiam.data.fnc1 import OFFICIAL_SPLIT_SEED, STANCES  # noqa: E402
from textsiam.data.stories import topic_split  # noqa: E402
from textsiam.eval.classes import class_metrics, fnc_score  # noqa: E402
from textsiam.eval.metrics import binary_metrics  # noqa: E402
from textsiam.eval.threshold import select_threshold  # noqa: E402
from textsiam.models import PairModel, build_model, create_model, load_model  # noqa: E402
from textsiam.train import TrainConfig, Trainer  # noqa: E402

MINILM = {"name": "hf-transformer", "args": {"model_name_or_path": "all-MiniLM-L6-v2", "max_length": 256}}
STANCE_HEAD = {"name": "pair-classifier", "args": {"classes": list(STANCES), "negative": "unrelated", "hidden": 256}}
FROZEN_MINILM = {"towers": {"encoder": {"freeze": True}}}


def minilm(**args: Any) -> dict[str, Any]:
    return {"name": "hf-transformer", "args": {**MINILM["args"], **args}}


# name -> (model config or preset, TrainConfig fields or None for "nothing to train"); ``train_pairs`` among the
# fields trains on a seeded random sample of that many train pairs (CPU budget), the val/dev protocol unchanged.
MODELS: dict[str, tuple[str | dict[str, Any], dict[str, Any] | None]] = {
    "tfidf-twin": ("tfidf-twin", None),
    "minilm-zero-shot": ("minilm-twin", None),
    "minilm-chunked-zero-shot": (
        {"pair_model": "twin", "encoder": minilm(long_text="chunk", chunk_overlap=32, max_chunks=4)},
        None,
    ),
    "frozen-minilm-stance-head": (
        {"pair_model": "twin", "encoder": MINILM, "head": STANCE_HEAD},
        {"loss": "cross-entropy", "epochs": 10, "batch_size": 64, "lr": 1e-3, "warmup_ratio": 0.05, **FROZEN_MINILM},
    ),
    "frozen-minilm-chunked-stance-head": (
        {
            "pair_model": "twin",
            "encoder": minilm(long_text="chunk", chunk_overlap=32, max_chunks=4),
            "head": STANCE_HEAD,
        },
        {"loss": "cross-entropy", "epochs": 10, "batch_size": 64, "lr": 1e-3, "warmup_ratio": 0.05, **FROZEN_MINILM},
    ),
    "tfidf-pseudo-stance-head": (
        {
            "pair_model": "pseudo",
            "left": {"name": "tfidf", "args": {"max_features": 5000}},
            "right": {"name": "tfidf", "args": {"max_features": 5000}},
            "projection_dim": 100,
            "head": STANCE_HEAD,
        },
        {"loss": "cross-entropy", "epochs": 10, "batch_size": 64, "lr": 1e-3, "warmup_ratio": 0.05},
    ),
    # preset rows: the preset's own train settings (None would mean "nothing to train"), on the same splits
    "minilm-stance": ("minilm-stance", {}),
    "stance-tfidf-mlp": ("stance-tfidf-mlp", {}),
    "stance-tfidf-mlp-unweighted": ("stance-tfidf-mlp", {"loss_args": {}}),
    "minilm-twin-finetuned": (
        "minilm-twin",
        {
            "loss": "online-contrastive",
            "epochs": 1,
            "batch_size": 16,
            "lr": 2e-5,
            "warmup_ratio": 0.1,
            "train_pairs": 2400,
        },
    ),
    "minilm-pseudo-frozen-body": (
        "minilm-pseudo",
        {
            "loss": "online-contrastive",
            "epochs": 1,
            "batch_size": 32,
            "lr": 1e-3,  # the projections; the title tower at 1e-3 * 0.02 = 2e-5
            "warmup_ratio": 0.1,
            "towers": {"left": {"lr_multiplier": 0.02}, "right": {"freeze": True}},
            "train_pairs": 16000,
        },
    ),
    "title-lstm-body-minilm-frozen": (
        "title-lstm-body-minilm",
        {
            "loss": "online-contrastive",
            "epochs": 5,
            "batch_size": 64,
            "lr": 1e-3,
            "warmup_ratio": 0.05,
            "towers": {"right": {"freeze": True}},
        },
    ),
}


def split(data: PairData, how: str = "body", seed: int = 0) -> dict[str, PairData]:
    """``body``: the official hold-out (20 % of the bodies), val 10 % of the rest's bodies (seed 0). ``topic``: 20 %
    of the pairs by whole stories (:func:`textsiam.data.stories.topic_split`, ``seed``), val 10 % of the rest the
    same way (seed 0), as ``textsiam train --dev-fraction 0.1 --dev-split topic --seed 0`` carves it."""
    if how == "topic":
        rest, dev = topic_split(data, 0.2, seed=seed)
        train, val = topic_split(rest, 0.1, seed=0)
    else:
        rest, dev = data.split(0.2, seed=OFFICIAL_SPLIT_SEED)
        train, val = rest.split(0.1, seed=0)
    return {"train_all": rest, "train": train, "val": val, "dev": dev}


def subsample(data: PairData, n: int | None, seed: int = 0) -> PairData:
    """A seeded random sample of ``n`` pairs (all of them when ``n`` is None or not smaller)."""
    if n is None or n >= len(data):
        return data
    return data.select(np.sort(np.random.default_rng(seed).choice(len(data), n, replace=False)))


def write_fnc_split(data: PairData, folder: Path, prefix: str) -> Path:
    """Write ``data`` as FNC-1 ``{prefix}_stances.csv`` + ``{prefix}_bodies.csv`` (the reader reads them back
    unchanged: same pairs, order, stances and Body IDs), for the CLI runs on the same splits."""
    import csv
    import io

    from textsiam.atomic import atomic_write_text

    def table(header: tuple[str, ...], rows: Any) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue()

    groups = data.dataset["group"]
    bodies = dict(zip(groups, data.b))
    atomic_write_text(folder / f"{prefix}_bodies.csv", table(("Body ID", "articleBody"), bodies.items()))
    stances = zip(data.a, groups, data.class_labels)
    atomic_write_text(folder / f"{prefix}_stances.csv", table(("Headline", "Body ID", "Stance"), stances))
    return folder / f"{prefix}_stances.csv"


def _build(spec: str | dict[str, Any], seed: int = 0) -> PairModel:
    return create_model(spec, seed=seed) if isinstance(spec, str) else build_model(spec)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _train_fields(spec: str | dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """A row's TrainConfig fields: over the preset's ``train`` settings when the row names a preset."""
    from textsiam.models.io import preset_config

    return {**(preset_config(spec).get("train", {}) if isinstance(spec, str) else {}), **fields}


def run_model(
    name: str, parts: dict[str, PairData], out_dir: Path | None, saved: Path | None = None, seed: int = 0
) -> dict[str, Any]:
    spec, train_fields = MODELS[name]
    import torch

    torch.manual_seed(seed)
    model = load_model(saved) if saved else _build(spec, seed)
    row: dict[str, Any] = {"model": name, "seed": seed}
    if saved:  # trained earlier (e.g. a run stopped for time): its best saved epoch, threshold from val
        tune = parts["val"]
        row["saved"] = str(saved)
    elif train_fields is None:  # nothing to train: fit vocabularies on all train texts, threshold from all train
        tune = parts["train_all"]
        _, row["train_seconds"] = _timed(lambda: model.fit_vocabulary(tune.a, tune.b))
    else:
        tune = parts["val"]
        fields = _train_fields(spec, train_fields) | {"seed": seed}
        train = subsample(parts["train"], fields.pop("train_pairs", None))
        row["train_pairs"] = len(train)
        cfg = TrainConfig(**fields, device="cpu", save_checkpoints=False)
        trainer = Trainer(model, cfg, train, parts["val"], out_dir / name if out_dir else None, False)
        summary, row["train_seconds"] = _timed(trainer.train)
        row["train_config"] = cfg.to_dict()
        row["best_val"] = summary.get("best_value")
    tune_scores = model.similarity_scores(tune.a, tune.b, batch_size=64)
    threshold = select_threshold(tune_scores, tune.labels, "youden").threshold
    dev = parts["dev"]
    outputs, row["eval_seconds"] = _timed(lambda: model.pair_outputs(dev.a, dev.b, batch_size=64))
    scores = model.head.binary_score(outputs).numpy() if model.classes else outputs.numpy()
    m = binary_metrics(scores, dev.labels, threshold=threshold)
    row |= {"roc_auc": m["roc_auc"], "accuracy": m["accuracy"], "f1": m["f1"], "threshold": threshold}
    if model.classes:
        pred = [model.classes[i] for i in outputs.argmax(-1).tolist()]
        cm = class_metrics(dev.class_labels, pred, model.classes)
        row |= {"class_accuracy": cm["class_accuracy"], "macro_f1": cm["macro_f1"]}
        row |= {"fnc_relative": fnc_score(dev.class_labels, pred)["fnc_relative"], "confusion": cm["confusion_matrix"]}
        related = [(c != "unrelated") == (g != "unrelated") for c, g in zip(pred, dev.class_labels)]
        row["related_accuracy"] = float(np.mean(related))  # from the 4-way argmax, as the FNC scorer sees it
        row |= {f"recall_{c}": cm["per_class"][c]["recall"] for c in model.classes}
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/fnc1"))
    p.add_argument("--models", nargs="+", default=["tfidf-twin", "minilm-zero-shot"], choices=sorted(MODELS))
    p.add_argument(
        "--split",
        choices=("body", "topic"),
        default="body",
        help="dev = the official hold-out by body (default), or whole held-out stories (topic, seed 0)",
    )
    p.add_argument("--seed", type=int, default=0, help="model seed (init, shuffling) of the trained rows")
    p.add_argument("--limit", type=int, default=None, help="read only the first N stance rows (smoke runs)")
    p.add_argument("--out", help="save trained models under this folder")
    p.add_argument("--json", help="write the rows here")
    p.add_argument("--saved", help="evaluate this saved model folder as the (single) --models entry, no training")
    p.add_argument(
        "--write-splits",
        metavar="DIR",
        help="write train_all (trainall_*.csv) and dev (dev_*.csv) as FNC-1 files into DIR for the CLI, then exit "
        "(a stance model of the related pairs reads trainall with --keep-classes discuss agree disagree)",
    )
    args = p.parse_args()
    data = read_pairs(Path(args.data) / "train_stances.csv", limit=args.limit)
    parts = split(data, args.split)
    print({k: len(v) for k, v in parts.items()}, flush=True)
    if args.write_splits:
        from textsiam.atomic import make_folder

        folder = make_folder(Path(args.write_splits))
        for prefix, part in (("trainall", parts["train_all"]), ("dev", parts["dev"])):
            print(write_fnc_split(part, folder, prefix))
        return
    rows = []
    for name in args.models:
        saved = Path(args.saved) if args.saved else None
        row = run_model(name, parts, Path(args.out) if args.out else None, saved, args.seed)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("train_config", "confusion")}), flush=True)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(
                json.dumps({"splits": {k: len(v) for k, v in parts.items()}, "rows": rows}, indent=2)
            )
    cols = ["model", "roc_auc", "accuracy", "f1", "fnc_relative", "related_accuracy", "recall_disagree"]
    cols += ["train_seconds", "eval_seconds"]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(f"{r[c]:.4f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols))


if __name__ == "__main__":
    main()
