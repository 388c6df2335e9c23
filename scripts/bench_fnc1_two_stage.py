"""FNC-1 two-stage stance on a dev split: one saved model decides related/unrelated, another the related stance.

The gate's 4-way argmax says whether a pair is ``unrelated``; a related pair takes the stance model's argmax over
``discuss`` / ``agree`` / ``disagree``. Both are saved stance models (a ``pair-classifier`` head with the FNC-1
classes), e.g. ``minilm-stance`` as the gate and ``stance-tfidf-mlp`` for the stance. Reports the FNC score, the
related/unrelated accuracy and per-class recall on dev, for the gate alone, the stance model alone and the two.

    python scripts/bench_fnc1_two_stage.py --split topic --gate runs/fnc1/topic_cli/model \
        --stance runs/fnc1/topic_models/stance-tfidf-mlp --json runs/fnc1/topic_two_stage.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_fnc1 import split  # noqa: E402

from textsiam.data import read_pairs  # noqa: E402
from textsiam.eval.classes import class_metrics, fnc_score  # noqa: E402
from textsiam.models import load_model  # noqa: E402


def metrics(gold: list[str], pred: list[str], classes: list[str]) -> dict[str, float]:
    cm = class_metrics(gold, pred, classes)
    related = np.mean([(p != "unrelated") == (g != "unrelated") for p, g in zip(pred, gold)])
    row = {"fnc_relative": fnc_score(gold, pred)["fnc_relative"], "related_accuracy": float(related)}
    return row | {f"recall_{c}": cm["per_class"][c]["recall"] for c in classes}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/fnc1"))
    p.add_argument("--split", choices=("body", "topic"), default="topic")
    p.add_argument("--gate", required=True, help="saved stance model that decides related/unrelated")
    p.add_argument("--stance", required=True, help="saved stance model that picks discuss/agree/disagree")
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args()
    dev = split(read_pairs(Path(args.data) / "train_stances.csv"), args.split)["dev"]
    preds = {}
    for role in ("gate", "stance"):
        model = load_model(getattr(args, role))
        logits = model.pair_outputs(dev.a, dev.b, batch_size=64)
        preds[role] = (list(model.classes), logits.numpy())
    classes, gate = preds["gate"]
    stance_classes, stance = preds["stance"]
    unrelated = np.asarray(gate).argmax(-1) == classes.index("unrelated")
    related_cols = [i for i, c in enumerate(stance_classes) if c != "unrelated"]
    picked = [stance_classes[related_cols[j]] for j in stance[:, related_cols].argmax(-1)]
    combined = ["unrelated" if u else s for u, s in zip(unrelated, picked)]
    gold = dev.class_labels
    rows = {
        "gate": metrics(gold, [classes[i] for i in gate.argmax(-1)], classes),
        "stance": metrics(gold, [stance_classes[i] for i in stance.argmax(-1)], classes),
        "two-stage": metrics(gold, combined, classes),
    }
    for name, row in rows.items():
        print(name, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"gate": args.gate, "stance": args.stance, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
