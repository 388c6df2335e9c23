"""Greedy model soup (Wortsman et al. 2022) of fine-tuned STS twins, chosen on the dev split only.

Ingredients are saved model folders with one architecture (and optionally the start model itself, which makes
the soup a WiSE-FT interpolation). They are sorted by dev Spearman; each is kept in the uniform average only if
the soup's dev Spearman does not drop. The test split is scored once, at the end, for the chosen soup and for
each ingredient (for the table).

    python scripts/soup_sts.py --models runs/sts_cosine_mnr runs/sts_cosent --include-start minilm-twin \
        --out runs/sts_soup.json --save runs/sts_soup
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from textsiam.api import evaluate
from textsiam.data import read_pairs
from textsiam.models import create_model, save_model
from textsiam.models.soup import average


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb")
    p.add_argument("--models", nargs="+", required=True, help="fine-tuned model folders (one architecture)")
    p.add_argument("--include-start", help="also offer this start model (preset/folder) as an ingredient")
    p.add_argument("--out", default="runs/sts_soup.json")
    p.add_argument("--save", help="save the chosen soup here")
    args = p.parse_args()
    dev = read_pairs(Path(args.data) / "sts-dev.csv")
    test = read_pairs(Path(args.data) / "sts-test.csv")
    names = list(args.models) + ([args.include_start] if args.include_start else [])
    models = {name: create_model(name) for name in names}
    dev_scores = {name: evaluate(m, dev)[0]["spearman"] for name, m in models.items()}
    order = sorted(names, key=lambda n: -dev_scores[n])
    chosen, best = [order[0]], dev_scores[order[0]]
    steps = [{"ingredients": list(chosen), "dev_spearman": best}]
    for name in order[1:]:
        trial = average([models[n] for n in [*chosen, name]])
        score = evaluate(trial, dev)[0]["spearman"]
        steps.append({"ingredients": [*chosen, name], "dev_spearman": score, "kept": score >= best})
        print(json.dumps(steps[-1]), flush=True)
        if score >= best:
            chosen, best = [*chosen, name], score
    soup = average([models[n] for n in chosen])
    result = {
        "ingredients": {
            n: {"dev_spearman": dev_scores[n], "test_spearman": evaluate(models[n], test)[0]["spearman"]} for n in names
        },
        "greedy_steps": steps,
        "soup": {"members": chosen, "dev_spearman": best, "test_spearman": evaluate(soup, test)[0]["spearman"]},
    }
    print(f"{'model':40} {'dev':>7} {'test':>7}")
    for n, r in result["ingredients"].items():
        print(f"{n:40} {r['dev_spearman']:7.4f} {r['test_spearman']:7.4f}")
    s = result["soup"]
    print(
        f"{'soup of ' + '+'.join(Path(m).name for m in chosen):40} {s['dev_spearman']:7.4f} {s['test_spearman']:7.4f}"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    if args.save:
        save_model(soup, args.save)


if __name__ == "__main__":
    main()
