"""Score-averaging ensembles of STS twins, the members chosen on the dev split only.

Every subset of ``--models`` (up to 2^n - 1 of them; keep n small) is scored on dev by the Spearman of the members'
mean cosine; the subset with the best dev score is chosen, and only then is test scored, once. For cosine twins the
mean of k cosines equals the cosine between concatenated, L2-normalised embeddings (up to the factor k), so such an
ensemble is still one siamese embedding model, k times wider and k times slower to encode.

    python scripts/ensemble_sts.py --models runs/sts_cosine_mnr runs/sts_cosent runs/sts_cos_cosent \\
        runs/sts_cos_mnr_sym minilm-twin runs/augsbert/twin --out runs/sts_ensemble.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from textsiam.data import read_pairs
from textsiam.models import create_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb")
    p.add_argument("--models", nargs="+", required=True, help="twin folders or presets (each trained on sts-train)")
    p.add_argument("--out", default="runs/sts_ensemble.json")
    args = p.parse_args()
    if len(args.models) > 12:
        p.error("at most 12 models (every subset is scored)")
    dev = read_pairs(Path(args.data) / "sts-dev.csv")
    test = read_pairs(Path(args.data) / "sts-test.csv")
    scores = {}
    for name in args.models:
        model = create_model(name)
        scores[name] = {"dev": model.similarity_scores(dev.a, dev.b), "test": model.similarity_scores(test.a, test.b)}

    def dev_spearman(members) -> float:
        return float(spearmanr(np.mean([scores[m]["dev"] for m in members], axis=0), dev.labels).statistic)

    subsets = [s for k in range(1, len(args.models) + 1) for s in itertools.combinations(args.models, k)]
    ranked = sorted(((dev_spearman(s), s) for s in subsets), key=lambda r: -r[0])
    best_dev, chosen = ranked[0]
    # test, read once per reported row: the single models (for the table) and the chosen ensemble
    test_of = {m: float(spearmanr(scores[m]["test"], test.labels).statistic) for m in args.models}
    ens_test = float(spearmanr(np.mean([scores[m]["test"] for m in chosen], axis=0), test.labels).statistic)
    result = {
        "models": {m: {"dev_spearman": dev_spearman([m]), "test_spearman": test_of[m]} for m in args.models},
        "top_subsets_by_dev": [{"members": list(s), "dev_spearman": d} for d, s in ranked[:5]],
        "chosen": {"members": list(chosen), "dev_spearman": best_dev, "test_spearman": ens_test},
    }
    print(f"{'model':40} {'dev':>7} {'test':>7}")
    for m, r in result["models"].items():
        print(f"{m:40} {r['dev_spearman']:7.4f} {r['test_spearman']:7.4f}")
    label = "mean of " + " + ".join(Path(m).name if "/" in m else m for m in chosen)
    print(f"{label}: dev {best_dev:.4f} test {ens_test:.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
