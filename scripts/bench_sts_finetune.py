"""Fine-tune all-MiniLM-L6-v2 on STS-B train with the same recipe in textsiam and in sentence-transformers,
side by side in one run, and report test Spearman and training throughput (pairs/s) of both, as a ratio.

Recipe (the issue's): cosine-similarity loss, 1 epoch, batch 16, lr 2e-5, linear warmup over 10% of steps,
AdamW (weight decay 0.01 for both), gradient clipping at 1.0, seed 0.

    python scripts/bench_sts_finetune.py --data ../shared/data/stsb --out runs/bench_sts_finetune.json

sentence-transformers is imported only here, in a benchmark script, never by the textsiam package.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from textsiam.data import read_pairs


def run_textsiam(train, test, args) -> dict:
    from textsiam.models import create_model
    from textsiam.train import TrainConfig, Trainer

    model = create_model("minilm-twin")
    cfg = TrainConfig(
        loss="cosine",
        epochs=1,
        batch_size=16,
        lr=2e-5,
        warmup_ratio=0.1,
        weight_decay=0.01,
        seed=args.seed,
        group_by_length=not args.no_grouping,
        save_checkpoints=False,
    )
    summary = Trainer(model, cfg, train, None, None, show_progress=not args.quiet).train()
    scores = model.similarity_scores(test.a, test.b)
    return {
        "train_seconds": summary["train_seconds"],
        "pairs_per_second": summary["pairs_per_second"],
        "test_spearman": float(spearmanr(scores, test.labels).statistic),
    }


def run_sentence_transformers(train, test, args) -> dict:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Args
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    from textsiam.encoders.pretrained import resolve_pretrained

    model = SentenceTransformer(str(resolve_pretrained("all-MiniLM-L6-v2")), device="cpu")
    ds = Dataset.from_dict({"sentence1": train.a, "sentence2": train.b, "score": list(train.scaled_labels())})
    out = Path(args.tmp) / "st"
    targs = Args(
        output_dir=str(out),
        num_train_epochs=1,
        per_device_train_batch_size=16,
        learning_rate=2e-5,
        warmup_ratio=0.1,
        weight_decay=0.01,
        seed=args.seed,
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        disable_tqdm=args.quiet,
        use_cpu=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=targs, train_dataset=ds, loss=CosineSimilarityLoss(model))
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    ea = model.encode(test.a, batch_size=64, convert_to_tensor=True)
    eb = model.encode(test.b, batch_size=64, convert_to_tensor=True)
    scores = torch.nn.functional.cosine_similarity(ea, eb).cpu().numpy()
    return {
        "train_seconds": seconds,
        "pairs_per_second": len(train) / seconds,
        "test_spearman": float(spearmanr(scores, test.labels).statistic),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb")
    p.add_argument("--out", default="runs/bench_sts_finetune.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="train on the first N pairs only (quick check)")
    p.add_argument("--no-grouping", action="store_true", help="textsiam: random batches, not length-grouped")
    p.add_argument("--only", choices=["textsiam", "sentence-transformers"])
    p.add_argument("--tmp", default="runs/tmp")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    train = read_pairs(Path(args.data) / "sts-train.csv", limit=args.limit)
    test = read_pairs(Path(args.data) / "sts-test.csv")
    results = {"threads": torch.get_num_threads(), "train_pairs": len(train), "test_pairs": len(test)}
    runners = {"textsiam": run_textsiam, "sentence-transformers": run_sentence_transformers}
    for name, fn in runners.items():
        if args.only in (None, name):
            torch.manual_seed(args.seed)
            np.random.seed(args.seed)
            results[name] = fn(train, test, args)
            print(name, results[name], flush=True)
    if "textsiam" in results and "sentence-transformers" in results:
        results["throughput_ratio_textsiam_over_st"] = (
            results["textsiam"]["pairs_per_second"] / results["sentence-transformers"]["pairs_per_second"]
        )
    print(f"{'framework':24} {'test spearman':>14} {'train s':>9} {'pairs/s':>9}")
    for name in runners:
        if name in results:
            r = results[name]
            print(f"{name:24} {r['test_spearman']:14.4f} {r['train_seconds']:9.1f} {r['pairs_per_second']:9.2f}")
    if "throughput_ratio_textsiam_over_st" in results:
        print(f"throughput ratio textsiam / sentence-transformers: {results['throughput_ratio_textsiam_over_st']:.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
