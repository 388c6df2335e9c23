"""Augmented SBERT (Thakur et al., NAACL 2021) for the MiniLM twin on STS-B, every choice made on the dev split.

A twin (bi-encoder) sees each sentence alone; a cross-encoder reads both sentences of a pair together and scores
similarity better, but cannot embed. Augmented SBERT uses the cross-encoder as a teacher for more pairs:

1. cross-encoder: the MiniLM weights with a one-output regression head over the joint pair, trained on sts-train
   (binary cross-entropy on label / 5, each pair in a random order per epoch), best epoch by dev Spearman. It
   scores a pair as the mean of both orders.
2. silver pairs ("semantic search" sampling): every distinct train sentence with its ``--top-k`` nearest train
   sentences under the start twin, minus the gold pairs, labelled 0..5 by the cross-encoder.
3. twin: the start model trained on gold + silver pairs with ``--recipe`` (TrainConfig fields), best epoch by dev
   Spearman. Test is scored once, at the end, for the cross-encoder and the twin.

Each stage writes to ``--out`` (cross-encoder weights as safetensors, ``silver.tsv``, the twin) and is skipped when
its output is already there, so an interrupted run resumes from the last finished stage.

    python scripts/augsbert_sts.py --out runs/augsbert --top-k 3 --recipe '{"loss": "cosine", "epochs": 2}'
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from datasets import concatenate_datasets
from scipy.stats import spearmanr
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

from textsiam.api import evaluate
from textsiam.data import PairData, read_pairs
from textsiam.data.writer import write_tsv
from textsiam.encoders.pretrained import resolve_pretrained
from textsiam.models import create_model, load_model
from textsiam.train import TrainConfig, Trainer


class CrossEncoder:
    """A transformer reading ``[CLS] a [SEP] b [SEP]`` with a single-logit head; ``sigmoid(logit)`` is the score."""

    def __init__(self, folder: str | os.PathLike, max_length: int = 128) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, use_safetensors=True)
        self.max_length = max_length

    def _logits(self, a: list[str], b: list[str]) -> torch.Tensor:
        feats = self.tokenizer(a, b, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return self.model(**feats).logits.squeeze(-1)

    @torch.inference_mode()
    def predict(self, a: list[str], b: list[str], batch_size: int = 64, desc: str = "cross-encode") -> np.ndarray:
        """Scores in [0, 1], the mean over both sentence orders."""
        self.model.eval()
        out = []
        for start in tqdm(range(0, len(a), batch_size), desc=desc, unit="batch", leave=False):
            aa, bb = a[start : start + batch_size], b[start : start + batch_size]
            out.append(((torch.sigmoid(self._logits(aa, bb)) + torch.sigmoid(self._logits(bb, aa))) / 2).numpy())
        return np.concatenate(out) if out else np.empty(0)

    def fit(self, train: PairData, dev: PairData, epochs: int, batch_size: int, lr: float, seed: int) -> list[dict]:
        """Train; keep the weights of the epoch with the best dev Spearman. Returns the per-epoch log."""
        torch.manual_seed(seed)
        rng = random.Random(seed)
        a, b = list(train.a), list(train.b)
        lo, hi = train.label_range
        y = ((np.asarray(train.labels, dtype=np.float32) - lo) / (hi - lo)).tolist()
        opt = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=0.01)
        steps = epochs * math.ceil(len(a) / batch_size)
        sched = get_linear_schedule_with_warmup(opt, int(0.1 * steps), steps)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        log, best, best_state = [], -math.inf, None
        for epoch in range(epochs):
            self.model.train()
            order = list(range(len(a)))
            rng.shuffle(order)
            bar = tqdm(range(0, len(order), batch_size), desc=f"cross-encoder epoch {epoch + 1}", unit="batch")
            for start in bar:
                idx = order[start : start + batch_size]
                swap = [rng.random() < 0.5 for _ in idx]  # a random sentence order: the score must be symmetric
                left = [b[i] if s else a[i] for i, s in zip(idx, swap)]
                right = [a[i] if s else b[i] for i, s in zip(idx, swap)]
                loss = loss_fn(self._logits(left, right), torch.tensor([y[i] for i in idx]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                bar.set_postfix(loss=f"{loss.item():.4f}")
            dev_spearman = float(spearmanr(self.predict(dev.a, dev.b), dev.labels).statistic)
            log.append({"epoch": epoch + 1, "dev_spearman": dev_spearman})
            print(json.dumps({"cross_encoder": log[-1]}), flush=True)
            if dev_spearman > best:
                best = dev_spearman
                best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(best_state)
        return log

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)


def silver_pairs(model, train: PairData, top_k: int) -> list[tuple[str, str]]:
    """Each distinct train sentence with its ``top_k`` nearest other train sentences (cosine of ``model``'s
    embeddings), as unordered pairs, without the gold pairs."""
    sentences = sorted(set(train.a) | set(train.b))
    emb = torch.nn.functional.normalize(model.encode(sentences, batch_size=128, show_progress=True), dim=-1)
    gold = {frozenset(p) for p in zip(train.a, train.b)}
    seen, pairs = set(), []
    for start in range(0, len(sentences), 1024):
        sims = emb[start : start + 1024] @ emb.T
        sims[torch.arange(sims.shape[0]), torch.arange(start, start + sims.shape[0])] = -math.inf  # not itself
        neighbours = sims.topk(top_k, dim=-1).indices.tolist()
        for row, cols in enumerate(neighbours):
            for col in cols:
                key = frozenset((sentences[start + row], sentences[col]))
                if len(key) == 2 and key not in seen and key not in gold:
                    seen.add(key)
                    pairs.append((sentences[start + row], sentences[col]))
    return pairs


@torch.inference_mode()
def twin_scores(twins: list, a: list[str], b: list[str]) -> np.ndarray:
    """Mean similarity of the ``twins`` (an ensemble by score averaging), clipped to [0, 1]. Each distinct sentence
    is encoded once per twin (silver pairs share most of their sentences)."""
    texts = sorted(set(a) | set(b))
    index = {t: i for i, t in enumerate(texts)}
    ia, ib = torch.tensor([index[t] for t in a]), torch.tensor([index[t] for t in b])
    scores = []
    for twin in twins:
        twin.eval()
        emb = twin.encode(texts, batch_size=128).to(twin.device)
        scores.append(twin.score(emb[ia], emb[ib]).float().cpu().numpy())
    return np.clip(np.mean(scores, axis=0), 0, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb")
    p.add_argument("--model", default="minilm-twin", help="start twin (preset or folder)")
    p.add_argument("--cross-model", default="all-MiniLM-L6-v2", help="transformer to start the cross-encoder from")
    p.add_argument("--cross-epochs", type=int, default=4)
    p.add_argument("--cross-lr", type=float, default=2e-5)
    p.add_argument("--top-k", type=int, default=3, help="silver neighbours per train sentence")
    p.add_argument(
        "--teachers",
        nargs="*",
        default=[],
        help="fine-tuned twin folders (trained on sts-train only) whose mean score is mixed with the cross-encoder's;"
        " the cross-encoder's weight in the mix is chosen on dev from --cross-weights",
    )
    p.add_argument("--cross-weights", default="0,0.25,0.5,0.75,1", help="comma-separated candidate weights")
    p.add_argument(
        "--recipe",
        default='{"loss": "cosine", "epochs": 2, "lr": 2e-5, "batch_size": 16}',
        help="twin TrainConfig fields, JSON",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/augsbert")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    train, dev, test = (read_pairs(data / f"sts-{s}.csv") for s in ("train", "dev", "test"))
    lo, hi = train.label_range
    result: dict = {"args": vars(args)}
    t0 = time.perf_counter()

    # 1. the cross-encoder
    cross_dir = out / "cross_encoder"
    if (cross_dir / "model.safetensors").exists():
        cross = CrossEncoder(cross_dir)
    else:
        cross = CrossEncoder(resolve_pretrained(args.cross_model))
        result["cross_log"] = cross.fit(train, dev, args.cross_epochs, 16, args.cross_lr, args.seed)
        cross.save(cross_dir)
    cross_dev = cross.predict(dev.a, dev.b)
    result["cross_dev_spearman"] = float(spearmanr(cross_dev, dev.labels).statistic)
    print(json.dumps({"cross_dev_spearman": result["cross_dev_spearman"]}), flush=True)

    # 2. silver pairs, scored by the cross-encoder
    cross_file = out / "silver_cross.tsv"
    if not cross_file.exists():
        pairs = silver_pairs(create_model(args.model), train, args.top_k)
        scores = cross.predict([x for x, _ in pairs], [y for _, y in pairs], desc="label silver pairs")
        rows = [(x, y, f"{lo + s * (hi - lo):.4f}") for (x, y), s in zip(pairs, scores)]
        write_tsv(cross_file, ["a", "b", "label"], rows)
    silver = read_pairs(cross_file, text_a="a", text_b="b", label="label", label_range=train.label_range)
    result["silver_pairs"] = len(silver)
    silver_cross = (np.asarray(silver.labels) - lo) / (hi - lo)

    # 2b. the teacher: cross-encoder alone, or mixed with fine-tuned twins at the weight that is best on dev
    if args.teachers:
        teachers = [create_model(folder) for folder in args.teachers]
        twins_dev = twin_scores(teachers, dev.a, dev.b)
        curve = {}
        for w in (float(x) for x in args.cross_weights.split(",")):
            curve[w] = float(spearmanr(w * cross_dev + (1 - w) * twins_dev, dev.labels).statistic)
        w = max(curve, key=curve.get)
        result["teacher_dev_curve"] = curve
        print(json.dumps({"teacher_dev_curve": curve, "cross_weight": w}), flush=True)
        silver_twins = twin_scores(teachers, silver.a, silver.b) if w < 1 else 0.0
        labels = w * silver_cross + (1 - w) * silver_twins
    else:
        w, labels = 1.0, silver_cross
    result["cross_weight"] = w
    silver = PairData(
        silver.dataset.remove_columns("label").add_column("label", (lo + labels * (hi - lo)).astype(np.float32)),
        source=f"silver pairs, teacher = {w} x cross-encoder + {1 - w} x twins",
        label_kind="graded",
        label_range=train.label_range,
    )
    silver.to_tsv(out / "silver.tsv")
    result["seconds_teacher"] = time.perf_counter() - t0

    # 3. the twin on gold + silver
    both = PairData(
        concatenate_datasets([train.dataset, silver.dataset.cast(train.dataset.features)]),
        source="sts-train+silver",
        label_kind="graded",
        label_range=train.label_range,
    )
    twin_dir = out / "twin"
    recipe = {"warmup_ratio": 0.1, "save_checkpoints": False, "seed": args.seed, **json.loads(args.recipe)}
    if not (twin_dir / "model.safetensors").exists():
        summary = Trainer(
            create_model(args.model, seed=args.seed), TrainConfig.from_dict(recipe), both, dev, twin_dir
        ).train()
        result["twin_pairs_per_second"] = summary["pairs_per_second"]
    twin = load_model(twin_dir)
    result["twin_dev_spearman"] = evaluate(twin, dev)[0]["spearman"]
    result["seconds"] = time.perf_counter() - t0
    # test, read once, last
    result["cross_test_spearman"] = float(spearmanr(cross.predict(test.a, test.b), test.labels).statistic)
    result["twin_test_spearman"] = evaluate(twin, test)[0]["spearman"]
    print(json.dumps(result, indent=2), flush=True)
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
