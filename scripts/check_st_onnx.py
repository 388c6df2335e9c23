"""ONNX exports through sentence-transformers' own ONNX backend, in a second Python environment.

sentence-transformers' ``backend="onnx"`` loads models through optimum-onnx, whose release (0.1.0) requires
``transformers<4.58``; textsiam needs transformers 5, so the check runs in two environments, with files between them:

1. here (textsiam's environment): export minilm-twin and a cross model with ``--format onnx --quantize int8``
   (``--cross``: by default the minilm-cross preset, whose new head is untrained, which does not matter for a round
   trip; ``--cross runs/cross-stsb``, a trained cross model's folder, also measures the cross scores' Spearman with
   the gold scores, fp32 and int8); compute textsiam's own float32 embeddings of the distinct STS-B test sentences
   and its cross scores and logits of the pairs;
2. ``--side-python`` (an environment with sentence-transformers + optimum-onnx[onnxruntime], e.g. the one
   docs/benchmarks.md creates): this same file with ``--side REQUEST.json RESPONSE.json`` loads
   ``SentenceTransformer(OUT, backend="onnx")`` (onnx/model.onnx), the same with
   ``model_kwargs={"file_name": "onnx/model_qint8_*.onnx"}``, ``CrossEncoder(OUT, backend="onnx")`` and the same
   with the cross model's int8 file, and writes their outputs;
3. here: the largest |difference| to textsiam's float32 outputs (target 1e-5) and the Spearman correlation of the
   pairs' cosine scores with the gold scores (int8 within 0.005 of float32); for the cross int8 file the largest
   |difference| of its logits relative to their spread and the Spearman of its scores with textsiam's float32 ones
   (reported, not a target). Exits 1 when a target is missed.

    python scripts/check_st_onnx.py --side-python /tmp/stonnx-venv/bin/python --out runs/check_st_onnx.json

The side part imports nothing of textsiam; the main part imports no sentence-transformers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

FP32_TARGET = 1e-5  # the bound for float32 round trips (the same float32 weights, another kernel order)
INT8_TARGET = 0.005  # the bound on |Spearman(int8) - Spearman(fp32)| on STS-B test
SIDE_PACKAGES = ("sentence-transformers", "transformers", "optimum", "optimum-onnx", "onnxruntime", "torch", "numpy")


def side(request_file: str, response_file: str) -> None:
    """The part that runs in the sentence-transformers environment: load the folders with backend="onnx"."""
    import numpy as np
    import torch
    from sentence_transformers import CrossEncoder, SentenceTransformer

    req = json.loads(Path(request_file).read_text())
    torch.set_num_threads(req["threads"])
    out: dict = {"versions": {}}
    for name in SIDE_PACKAGES:
        try:
            out["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out["versions"][name] = None
    for key, kwargs in (("st_fp32", {}), ("st_int8", {"model_kwargs": {"file_name": req["int8_file"]}})):
        st = SentenceTransformer(req["twin"], backend="onnx", device="cpu", **kwargs)
        emb = st.encode(req["sentences"], batch_size=req["batch_size"], convert_to_numpy=True)
        out[key] = {"file": str(st[0].auto_model.path), "backend": st.backend, "embeddings": emb.tolist()}
        print(f"[side] {key}: {out[key]['file']} ({len(emb)} x {emb.shape[1]})", flush=True)
    pairs = [tuple(p) for p in req["pairs"]]
    for key, kwargs in (("cross", {}), ("cross_int8", {"model_kwargs": {"file_name": req["cross_int8_file"]}})):
        ce = CrossEncoder(req["cross"], backend="onnx", device="cpu", **kwargs)
        scores = ce.predict(pairs, batch_size=req["batch_size"], convert_to_numpy=True)  # default: sigmoid of a logit
        logits = ce.predict(
            pairs, batch_size=req["batch_size"], activation_fn=torch.nn.Identity(), convert_to_numpy=True
        )
        out[key] = {
            "file": str(ce.model.path),
            "backend": ce.backend,
            "scores": np.asarray(scores).reshape(-1).tolist(),
            "logits": np.asarray(logits).reshape(-1).tolist(),
        }
        print(f"[side] {key}: {out[key]['file']} ({len(scores)} pairs)", flush=True)
    Path(response_file).write_text(json.dumps(out))


def spearman(a, b, labels) -> float:
    import torch
    from scipy.stats import spearmanr

    return float(spearmanr(torch.nn.functional.cosine_similarity(a, b).numpy(), labels).statistic)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--side", nargs=2, metavar=("REQUEST", "RESPONSE"), help=argparse.SUPPRESS)
    p.add_argument("--side-python", default="/tmp/stonnx-venv/bin/python", help="python of the side environment")
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", "../shared/data") + "/stsb/sts-test.csv")
    p.add_argument("--limit", type=int, default=None, help="the first N pairs only (default: all 1,379)")
    p.add_argument("--cross", default="minilm-cross", help="the cross model to export (a preset or model folder)")
    p.add_argument("--export-dir", default=None, help="keep the exported folders here (default: a temporary folder)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", default="runs/check_st_onnx.json")
    args = p.parse_args()
    if args.side:
        side(*args.side)
        return
    if not Path(args.side_python).is_file():
        raise SystemExit(f"--side-python {args.side_python} does not exist; create it as docs/benchmarks.md shows")
    with tempfile.TemporaryDirectory() as tmp:
        rows, versions = run(args, Path(args.export_dir) if args.export_dir else Path(tmp) / "exports", Path(tmp))
    report(args, rows, versions)


def run(args, exports: Path, tmp: Path) -> tuple[list[dict], dict]:
    import torch

    import textsiam
    from textsiam.data import read_pairs
    from textsiam.models import create_model

    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    pairs = read_pairs(args.data, limit=args.limit)
    sentences = sorted(set(pairs.a) | set(pairs.b))
    index = {t: i for i, t in enumerate(sentences)}
    twin = create_model("minilm-twin").eval()
    cross = create_model(args.cross, seed=0).eval()
    twin_dir = textsiam.export(twin, exports / "twin-onnx", format="onnx", quantize="int8")
    cross_dir = textsiam.export(cross, exports / "cross-onnx", format="onnx", quantize="int8")
    (int8,) = (twin_dir / "onnx").glob("model_qint8_*.onnx")
    (cross_int8,) = (cross_dir / "onnx").glob("model_qint8_*.onnx")
    print(f"exported {twin_dir} and {cross_dir}", flush=True)
    ours = twin.encode(sentences, batch_size=args.batch_size)
    scores = torch.from_numpy(cross.similarity_scores(pairs.a, pairs.b, batch_size=args.batch_size))
    logits = torch.cat(
        [
            cross.forward_pairs(cross.collate_pairs(pairs.a[i : i + args.batch_size], pairs.b[i : i + args.batch_size]))
            for i in range(0, len(pairs), args.batch_size)
        ]
    )
    request = {
        "twin": str(twin_dir),
        "int8_file": str(int8.relative_to(twin_dir)),
        "cross": str(cross_dir),
        "cross_int8_file": str(cross_int8.relative_to(cross_dir)),
        "sentences": sentences,
        "pairs": list(zip(pairs.a, pairs.b)),
        "batch_size": args.batch_size,
        "threads": args.threads,
    }
    (tmp / "request.json").write_text(json.dumps(request))
    cmd = [args.side_python, str(Path(__file__).resolve()), "--side", str(tmp / "request.json"), str(tmp / "resp.json")]
    print("side:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    resp = json.loads((tmp / "resp.json").read_text())

    def rho(emb: torch.Tensor) -> float:
        return spearman(emb[[index[t] for t in pairs.a]], emb[[index[t] for t in pairs.b]], pairs.labels)

    rows = [{"route": "textsiam fp32 (minilm-twin)", "max_abs_diff": 0.0, "spearman": rho(ours)}]
    for key, label in (("st_fp32", "SentenceTransformer onnx fp32"), ("st_int8", "SentenceTransformer onnx int8")):
        emb = torch.tensor(resp[key]["embeddings"], dtype=torch.float32)
        rows.append(
            {
                "route": f"{label} ({Path(resp[key]['file']).name})",
                "backend": resp[key]["backend"],
                "max_abs_diff": float((emb - ours).abs().max()),
                "spearman": rho(emb),
            }
        )
    from scipy.stats import spearmanr

    trained = args.cross != "minilm-cross"  # the preset's head is untrained: its scores say nothing about STS-B
    for side_key, label in (("cross", "fp32"), ("cross_int8", "int8")):
        for key, mine in (("scores", scores), ("logits", logits)):
            theirs = torch.tensor(resp[side_key][key], dtype=torch.float32)
            rows.append(
                {
                    "route": f"CrossEncoder onnx {label} {key} ({Path(resp[side_key]['file']).name}, {args.cross})",
                    "backend": resp[side_key]["backend"],
                    "max_abs_diff": float((theirs - mine.float()).abs().max()),
                    "max_abs_value": float(mine.abs().max()),  # the size of what is compared
                    "spread": float(mine.max() - mine.min()),  # what an int8 difference is measured against
                    "spearman_to_fp32": float(spearmanr(theirs.numpy(), mine.float().numpy()).statistic),
                    "spearman": float(spearmanr(theirs.numpy(), pairs.labels).statistic) if trained else None,
                }
            )
    meta = {"pairs": len(pairs), "sentences": len(sentences), "side": resp["versions"]}
    meta["main"] = {n: metadata.version(n) for n in ("textsiam", "transformers", "onnxruntime", "torch")}
    return rows, meta


def report(args, rows: list[dict], meta: dict) -> None:
    print(f"{meta['pairs']} pairs, {meta['sentences']} distinct sentences; side: {meta['side']}")
    print(f"{'route':80s} {'max |diff|':>11s} {'Spearman':>9s}")
    for r in rows:
        rho = "" if r["spearman"] is None else f"{r['spearman']:9.4f}"
        print(f"{r['route']:80s} {r['max_abs_diff']:11.2e} {rho:>9s}")
    fp32 = [r for r in rows if "fp32" in r["route"] and not r["route"].startswith("textsiam")]
    for r in rows:
        if "spearman_to_fp32" in r and "int8" in r["route"]:
            rel = r["max_abs_diff"] / max(r["spread"], 1e-12)
            print(f"{r['route']}: max |diff| / spread {rel:.4f}, Spearman to fp32 {r['spearman_to_fp32']:.4f}")
    st_fp32, st_int8 = (
        next(r for r in rows if r["route"].startswith(s))
        for s in ("SentenceTransformer onnx f", "SentenceTransformer onnx i")
    )
    gap = st_int8["spearman"] - st_fp32["spearman"]
    print(f"int8 - fp32 Spearman: {gap:+.4f} (target within {INT8_TARGET})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"data": args.data, "limit": args.limit, **meta, "rows": rows}, indent=2))
    print(f"wrote {args.out}")
    failed = [r["route"] for r in fp32 if r["max_abs_diff"] > FP32_TARGET]
    if failed or abs(gap) > INT8_TARGET:
        raise SystemExit(f"missed a target: fp32 over {FP32_TARGET}: {failed}; int8 gap {gap:+.4f}")


if __name__ == "__main__":
    sys.exit(main())
