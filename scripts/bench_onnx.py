"""Export round trips and ONNX encode speed on STS-B test (MiniLM-L6, minilm-twin).

Exports minilm-twin once as a sentence-transformers folder and once as ONNX with ``--quantize int8``, then on the
distinct sentences of STS-B test (2,758) reports, per route, the largest |difference| of any embedding coordinate
to textsiam's own float32 embeddings and the Spearman correlation of the pairs' cosine scores with the gold
scores: textsiam fp32 / int8, sentence-transformers on the exported folder, onnxruntime on onnx/model.onnx and on
onnx/model_qint8_*.onnx. Then it times encoding all the sentences (batches of 64, longest first, the same threads
for torch and onnxruntime), alternating the four encoders over ``--rounds`` rounds, and reports each one's best
and median sentences per second.

    python scripts/bench_onnx.py --threads 2 --rounds 3 --out runs/bench_onnx.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

import textsiam
from textsiam.data import read_pairs
from textsiam.models import create_model


def ort_encoder(path: Path, tokenizer, threads: int, batch_size: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on a shared machine
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def encode(texts: list[str]) -> torch.Tensor:
        lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=256)["input_ids"]]
        order = np.argsort([-n for n in lengths], kind="stable")
        out = np.empty((len(texts), session.get_outputs()[1].shape[1] or 0), dtype=np.float32)
        rows = []
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            features = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=256, return_tensors="np"
            )
            (embedding,) = session.run(["sentence_embedding"], {n: features[n].astype(np.int64) for n in names})
            rows.append((idx, embedding))
        out = np.empty((len(texts), rows[0][1].shape[1]), dtype=np.float32)
        for idx, embedding in rows:
            out[idx] = embedding
        return torch.from_numpy(out)

    return encode


def quality(name: str, emb: torch.Tensor, ref: torch.Tensor, index: dict, pairs) -> dict:
    u = emb[[index[t] for t in pairs.a]]
    v = emb[[index[t] for t in pairs.b]]
    rho = spearmanr(torch.nn.functional.cosine_similarity(u, v).numpy(), pairs.labels).statistic
    return {"route": name, "max_abs_diff": float((emb - ref).abs().max()), "spearman": float(rho)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb/sts-test.csv")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", default="runs/bench_onnx.json")
    args = p.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    pairs = read_pairs(args.data)
    sentences = sorted(set(pairs.a) | set(pairs.b))
    index = {t: i for i, t in enumerate(sentences)}
    model = create_model("minilm-twin").eval()
    int8 = textsiam.quantize(model, "int8")
    tokenizer = model.encoder.tokenizer
    with tempfile.TemporaryDirectory() as tmp:
        st_dir = textsiam.export(model, Path(tmp) / "st")
        onnx_dir = textsiam.export(model, Path(tmp) / "onnx", format="onnx", quantize="int8")
        (q_file,) = (onnx_dir / "onnx").glob("model_qint8_*.onnx")
        encoders = {
            "textsiam fp32": lambda t: model.encode(t, batch_size=args.batch_size),
            "textsiam int8": lambda t: int8.encode(t, batch_size=args.batch_size),
            "onnxruntime fp32": ort_encoder(onnx_dir / "onnx" / "model.onnx", tokenizer, args.threads, args.batch_size),
            f"onnxruntime int8 ({q_file.name})": ort_encoder(q_file, tokenizer, args.threads, args.batch_size),
        }
        ref = model.encode(sentences, batch_size=args.batch_size)
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(st_dir), device="cpu")
        rows = [
            quality(
                "sentence-transformers (exported folder)",
                st.encode(sentences, batch_size=args.batch_size, convert_to_tensor=True),
                ref,
                index,
                pairs,
            )
        ]
        for name, encode in encoders.items():
            rows.append(quality(name, encode(sentences), ref, index, pairs))
            print(rows[-1], flush=True)
        times: dict[str, list[float]] = {name: [] for name in encoders}
        for _ in range(args.rounds):  # alternated: each round runs every encoder once
            for name, encode in encoders.items():
                start = time.perf_counter()
                encode(sentences)
                times[name].append(len(sentences) / (time.perf_counter() - start))
                print(f"{name}: {times[name][-1]:.1f} sentences/s", flush=True)
    speed = [
        {"encoder": n, "best_per_s": max(t), "median_per_s": statistics.median(t), "rounds": t}
        for n, t in times.items()
    ]
    print(f"{len(sentences)} sentences, {len(pairs)} pairs, {args.threads} threads")
    print(f"{'route':48s} {'max |diff|':>11s} {'Spearman':>9s}")
    for r in rows:
        print(f"{r['route']:48s} {r['max_abs_diff']:11.2e} {r['spearman']:9.4f}")
    print(f"{'encoder':48s} {'best/s':>8s} {'median/s':>9s}")
    for r in speed:
        print(f"{r['encoder']:48s} {r['best_per_s']:8.1f} {r['median_per_s']:9.1f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"quality": rows, "speed": speed, "threads": args.threads}, indent=2))


if __name__ == "__main__":
    main()
