"""FNC-1 two-stage stance on a dev split: one saved model decides related/unrelated, another the related stance.

The two are joined by the ``two-stage`` pair model (``textsiam/models/two_stage.py``): joint log-probabilities,
``p(unrelated)`` from the gate and ``(1 - p(unrelated)) q(c)`` for the related classes, ``q`` the stance model's
softmax; the prediction is the most probable class. The rule of the earlier runs (unrelated where the gate's argmax
is, else the stance model's argmax) is reported beside it from the same outputs. The gate is a saved stance model
with the four FNC-1 classes (``minilm-stance``); the stance model has at least ``discuss`` / ``agree`` /
``disagree`` (a cross-encoder trained on the related pairs, or a 4-way model, which is also reported alone).
Reports the FNC score, the related/unrelated accuracy and per-class recall on dev.

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
from textsiam.models.two_stage import TwoStageModel  # noqa: E402


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

    gate_model = load_model(args.gate)
    classes = list(gate_model.classes)
    gate = gate_model.pair_outputs(dev.a, dev.b, batch_size=64)
    gate_says_unrelated = (gate.argmax(-1) == classes.index("unrelated")).numpy()
    related = [i for i, c in enumerate(classes) if c != "unrelated"]
    rows = {"gate": metrics(gold, [classes[i] for i in gate.argmax(-1)], classes)}
    for folder in args.stance:
        model = load_model(folder)
        if "unrelated" in model.classes:  # a 4-way stance model: alone, it scores every dev pair
            alone = model.pair_outputs(dev.a, dev.b, batch_size=64).argmax(-1)
            rows[f"stance {folder}"] = metrics(gold, [model.classes[i] for i in alone], classes)
        joint = TwoStageModel(gate_model, model).joint(gate, dev.a, dev.b, batch_size=64).numpy()
        rows[f"two-stage {folder}"] = metrics(gold, [classes[i] for i in joint.argmax(-1)], classes)
        # the rule of the runs before the two-stage model: unrelated where the gate's argmax is, else the stance's
        picked = [classes[related[j]] for j in joint[:, related].argmax(-1)]
        rows[f"two-stage, gate argmax {folder}"] = metrics(
            gold, ["unrelated" if u else c for u, c in zip(gate_says_unrelated, picked)], classes
        )
    for name, row in rows.items():
        print(name, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"gate": args.gate, "stance": args.stance, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
