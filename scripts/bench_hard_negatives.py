"""Data for the hard-negatives comparison on STS-B (dev only): positives, a corpus, and same-budget controls.

    python scripts/bench_hard_negatives.py prepare --out runs/hn [--limit N]   # positives.tsv (train pairs
                                  # scored >= 4), corpus.txt (every distinct sentence of those N train pairs)
    textsiam mine-negatives --model minilm-twin --data runs/hn/positives.tsv --corpus runs/hn/corpus.txt \\
        --out runs/hn/mined.tsv --min-rank 3 --max-rank 30 --margin 0.05
    python scripts/bench_hard_negatives.py control --out runs/hn     # random.tsv: the same anchors and positives
                                                                     # with a random corpus sentence as negative

Both training files then hold the same pairs and one negative each, so runs on them take the same steps.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

DATA = Path(os.environ.get("TEXTSIAM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> None:
    from textsiam.data import read_pairs
    from textsiam.data.writer import write_tsv

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["prepare", "control"])
    p.add_argument("--out", required=True)
    p.add_argument("--min-score", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="read only the first N training pairs (default: all)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.step == "prepare":
        train = read_pairs(DATA / "stsb" / "sts-train.csv", limit=args.limit)
        keep = [(a, b) for a, b, y in zip(train.a, train.b, train.labels) if y >= args.min_score]
        write_tsv(out / "positives.tsv", ["text_a", "text_b"], keep)
        corpus = list(dict.fromkeys(t.replace("\t", " ") for t in train.a + train.b))
        (out / "corpus.txt").write_text("".join(t + "\n" for t in corpus), encoding="utf-8")
        print(f"{len(keep)} positive pairs, {len(corpus)} corpus sentences")
        return
    mined = read_pairs(out / "mined.tsv")
    corpus = (out / "corpus.txt").read_text(encoding="utf-8").splitlines()
    rng = random.Random(args.seed)
    rows = []
    for a, b in zip(mined.a, mined.b):
        negative = rng.choice(corpus)
        while negative in (a, b):
            negative = rng.choice(corpus)
        rows.append((a, b, negative))
    write_tsv(out / "random.tsv", ["anchor", "positive", "negative"], rows)
    print(f"{len(rows)} triplets with random negatives")


if __name__ == "__main__":
    main()
