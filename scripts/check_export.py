"""Export round trip on real data: textsiam embeddings vs SentenceTransformer(exported folder).

For each model: export it with ``textsiam.export(..., format="sentence-transformers")``, load the folder with the
sentence-transformers package, embed every distinct STS-B test sentence with both, and report the largest absolute
difference of any embedding coordinate (must be <= 1e-5). The projection twin is minilm-twin with a seeded random
128-d projection (what a fine-tuned projection twin exports: the transformer, mean pooling and a final Dense).

    python scripts/check_export.py --out runs/check_export.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

import textsiam
from textsiam.data import read_pairs
from textsiam.models import create_model

MODELS = {
    "minilm-twin": lambda: create_model("minilm-twin"),
    "minilm-twin + projection 128": lambda: create_model("minilm-twin", projection_dim=128, seed=0),
}


def check(name: str, sentences: list[str], batch_size: int) -> dict:
    model = MODELS[name]()
    with tempfile.TemporaryDirectory() as tmp:
        out = textsiam.export(model, Path(tmp) / "st")
        reference = SentenceTransformer(str(out), device="cpu")
        ours = model.encode(sentences, batch_size=batch_size)
        theirs = reference.encode(sentences, batch_size=batch_size, convert_to_tensor=True).cpu()
    cosine = torch.nn.functional.cosine_similarity(ours, theirs)
    return {
        "model": name,
        "sentences": len(sentences),
        "dim": ours.shape[1],
        "max_abs_diff": float((ours - theirs).abs().max()),
        "min_cosine": float(cosine.min()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb/sts-test.csv")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", default="runs/check_export.json")
    args = p.parse_args()
    torch.set_grad_enabled(False)
    pairs = read_pairs(args.data)
    sentences = sorted(set(pairs.a) | set(pairs.b))
    rows = [check(name, sentences, args.batch_size) for name in MODELS]
    print(f"{'model':32s} {'sentences':>9s} {'dim':>4s} {'max |diff|':>11s} {'min cos':>10s}")
    for r in rows:
        print(f"{r['model']:32s} {r['sentences']:9d} {r['dim']:4d} {r['max_abs_diff']:11.2e} {r['min_cosine']:10.7f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"data": args.data, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    if any(r["max_abs_diff"] > 1e-5 for r in rows):
        raise SystemExit("export round trip differs by more than 1e-5")


if __name__ == "__main__":
    main()
