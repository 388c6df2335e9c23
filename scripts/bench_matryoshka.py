"""STS-B Spearman of trained models at truncated dimensions (the first N coordinates, renormalised).

Each model encodes the test pairs once at full size; every dimension is then a truncation of those embeddings
(``textsiam.index.truncate``: what ``encode --dim N`` and the service's ``dimensions`` return).

    python scripts/bench_matryoshka.py --models runs/mat_plain runs/mat_matryoshka --dims 384 256 128 64 \\
        --data ../shared/data/stsb/sts-test.csv --json runs/matryoshka.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from scipy.stats import spearmanr

    from textsiam.data import read_pairs
    from textsiam.index.truncate import truncate
    from textsiam.models.io import create_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--dims", type=int, nargs="+", default=[384, 256, 128, 64])
    p.add_argument("--data", required=True)
    p.add_argument("--json")
    args = p.parse_args()
    data = read_pairs(args.data)
    rows = []
    for name in args.models:
        model = create_model(name).eval()
        u, v = model.encode(data.a).numpy(), model.encode(data.b, side="right").numpy()
        for dim in args.dims:
            cos = (truncate(u, dim) * truncate(v, dim)).sum(1)
            rows.append({"model": name, "dim": dim, "spearman": round(float(spearmanr(cos, data.labels)[0]), 4)})
            print(json.dumps(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
