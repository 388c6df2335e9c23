"""FNC-1 two-stage stance on a dev split: one saved model decides related/unrelated, another the related stance.

The gate's 4-way argmax says whether a pair is ``unrelated``; a related pair takes the stance model's argmax over
``discuss`` / ``agree`` / ``disagree``. Both are saved stance models (a ``pair-classifier`` head with the FNC-1
classes), e.g. ``minilm-stance`` as the gate and ``stance-tfidf-mlp`` for the stance. A stance model without the
``unrelated`` class (a cross-encoder trained on the related pairs only) reads only the pairs the gate calls related.
Reports the FNC score, the related/unrelated accuracy and per-class recall on dev, for the gate alone, a 4-way
stance model alone and the two.

    python scripts/bench_fnc1_two_stage.py --split topic --gate runs/fnc1/topic_cli/model \
        --stance runs/fnc1/topic_models/stance-tfidf-mlp runs/fnc1/topic_models_s1/stance-tfidf-mlp \
        runs/fnc1/topic_models_s2/stance-tfidf-mlp --json runs/fnc1/topic_two_stage.json

``--eval-file FILE`` scores another file in the FNC-1 format instead (a held-out test set, with its bodies file).
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
    p.add_argument(
        "--stance",
        required=True,
        nargs="+",
        help="saved stance model(s) that pick discuss/agree/disagree (one row each)",
    )
    p.add_argument(
        "--eval-file",
        metavar="FILE",
        help="score this FNC-1 stances file (its bodies file beside it, e.g. competition_test_stances.csv) instead "
        "of the --split dev part of the training file",
    )
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args()
    if args.eval_file:
        dev = read_pairs(args.eval_file)
    else:
        dev = split(read_pairs(Path(args.data) / "train_stances.csv"), args.split)["dev"]
    gold = dev.class_labels

    def outputs(model, rows: np.ndarray | None = None) -> np.ndarray:
        a, b = (dev.a, dev.b) if rows is None else ([dev.a[i] for i in rows], [dev.b[i] for i in rows])
        return model.pair_outputs(a, b, batch_size=64).numpy()

    gate_model = load_model(args.gate)
    classes, gate = list(gate_model.classes), outputs(gate_model)
    unrelated = gate.argmax(-1) == classes.index("unrelated")
    rows = {"gate": metrics(gold, [classes[i] for i in gate.argmax(-1)], classes)}
    for folder in args.stance:
        model = load_model(folder)
        stance_classes = list(model.classes)
        if "unrelated" in stance_classes:  # a 4-way stance model: it scores every dev pair
            stance = outputs(model)
            rows[f"stance {folder}"] = metrics(gold, [stance_classes[i] for i in stance.argmax(-1)], classes)
        else:  # trained on related pairs only (e.g. a cross-encoder): scored on the pairs the gate calls related
            related = np.flatnonzero(~unrelated)
            scored = outputs(model, related)
            stance = np.zeros((len(gold), len(stance_classes)), dtype=scored.dtype)
            stance[related] = scored
        related_cols = [i for i, c in enumerate(stance_classes) if c != "unrelated"]
        picked = [stance_classes[related_cols[j]] for j in stance[:, related_cols].argmax(-1)]
        rows[f"two-stage {folder}"] = metrics(
            gold, ["unrelated" if u else s for u, s in zip(unrelated, picked)], classes
        )
    for name, row in rows.items():
        print(name, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"gate": args.gate, "stance": args.stance, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
