"""Encode speed: textsiam (fp32, bf16 and int8) vs sentence-transformers (fp32, bf16 weights, and its ONNX / ONNX-int8
backends when the ``onnx`` extra is installed) on the 2,758 sentences of STS-B test with all-MiniLM-L6-v2, same
batch size, whole runs alternated A B C A B C ..., each run in its own process (so peak RSS is that run's alone).
Reports sentences/s, the ratio to sentence-transformers fp32, peak RSS, the largest absolute difference between each
row's and sentence-transformers' fp32 (normalised) embeddings, each row's STS-B test Spearman, and the GFLOP/s
reached (the model's linears per token, from its config: 21.2 MFLOP MiniLM-L6, 169.9 mpnet-base) as a fraction of
the ``--peak`` of its data type (measure them with scripts/bench_gemm_dtype.py). ``--growth`` adds encode time and
peak RSS for N streamed sentences.

sentence-transformers' ONNX backend needs optimum-onnx, which pins transformers < 4.58 while textsiam needs 5:
``--st-python`` runs the ONNX rows in a second environment (docs/benchmarks.md creates it); those workers import
nothing of textsiam (the sentences and the model folder come in a file). Its OpenVINO backend (optimum-intel, nncf)
gets a third, ``--st-openvino-python``: its int8 row is sentence-transformers' static int8 quantization
(``export_static_quantized_openvino_model``), calibrated offline on the sentences textsiam's own int8 calibrates on
(``textsiam/deploy/calibration_texts.txt``, never the test sentences) instead of its default download of GLUE SST-2.

    python scripts/bench_encode.py --repeats 3 --out runs/bench_encode.json --st-python /tmp/stonnx-venv/bin/python
    python scripts/bench_encode.py --model mpnet-twin --st-model all-mpnet-base-v2 --repeats 2
    python scripts/bench_encode.py --repeats 3 --sides textsiam-int8 sentence-transformers st-openvino \
        st-openvino-int8 --st-openvino-python /tmp/stov-venv/bin/python
    python scripts/bench_encode.py --repeats 1 --limit 250 --sides textsiam textsiam-bf16 sentence-transformers st-bf16
    python scripts/bench_encode.py --repeats 0 --growth 1000 10000 100000 [--growth-model DIR]

sentence-transformers is imported only here, in a benchmark script, never by the textsiam package.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIDES = (
    "textsiam",
    "sentence-transformers",
    "textsiam-bf16",
    "st-bf16",
    "textsiam-int8",
    "st-onnx",
    "st-onnx-int8",
    "textsiam-mkl",  # textsiam fp32 with torch's own float32 linears (TEXTSIAM_FP32_LINEAR=torch; layers/linear.py)
    # attention on each batch's exact length, as before encoders/packed_bert.py's ATTENTION_MULTIPLE (16)
    "textsiam-exact-span",
    "textsiam-int8-exact-span",
    # int8 with query, key and value as three products and the attention output's own smoothing multiply, as before
    # deploy/quantize.py's prepare_int8 fused and folded them
    "textsiam-int8-separate",
    # int8 with one activation scale per product call (torch's dynamic quantized Linear), as before deploy/quantize.py's
    # per-token path; on a CPU whose int8 products are not exact this is what textsiam-int8 runs anyway
    "textsiam-int8-per-batch",
    # int8 with its layers compiled (--compile, deploy/compiled.py); the compile happens in the warm-up, whose time
    # (load + warm-up) every side reports as warmup_s
    "textsiam-int8-compiled",
    "st-openvino",
    "st-openvino-int8",
)
ONNX = ("st-onnx", "st-onnx-int8")  # need optimum + onnxruntime (the onnx extra); skipped with a message otherwise
OPENVINO = ("st-openvino", "st-openvino-int8")  # need sentence-transformers[openvino] + datasets: --st-openvino-python
PEAK_GFLOPS = 127.0  # the fp32 matmul peak of the 2 cores (GFLOP/s)


def stsb_test(data: str, limit: int | None = None) -> tuple[list[str], list[str], np.ndarray]:
    from textsiam.data import read_pairs

    test = read_pairs(Path(data) / "sts-test.csv", limit=limit)
    return list(test.a), list(test.b), np.asarray(test.labels)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def worker(side: str, args: argparse.Namespace) -> dict:
    """One timed run in this process: load, warm up on 64 sentences, encode all; embeddings saved to args.save."""
    import torch

    begin = time.perf_counter()
    job = json.loads(Path(args.job).read_text())  # the sentences and the ST folder: no textsiam import needed here
    sentences, args.st_folder = job["sentences"], job["st_folder"]
    if side in ("sentence-transformers", "st-bf16", *ONNX, *OPENVINO):
        st = _sentence_transformer(side, args)

        def encode(texts):  # float32 numpy whatever the weights' type (numpy has no bfloat16)
            return st.encode(texts, batch_size=args.batch_size, convert_to_tensor=True).float().cpu().numpy()
    else:
        if side == "textsiam-mkl":
            os.environ["TEXTSIAM_FP32_LINEAR"] = "torch"  # read once, at the first linear: before anything runs
        from textsiam.deploy.quantize import load_for_inference

        if side.endswith("-exact-span"):
            from textsiam.encoders import packed_bert

            packed_bert.ATTENTION_MULTIPLE = 1
        if side == "textsiam-int8-separate":
            from textsiam.deploy import quantize

            def smooth_only(work, calibration=None):
                quantize.smooth(work, calibration)
                return work

            quantize.prepare_int8 = smooth_only
        if side == "textsiam-int8-per-batch":
            from textsiam.deploy import quantize

            quantize.per_token_int8_exact = lambda: False
        quantization = "int8" if side.startswith("textsiam-int8") else None
        dtype = "bf16" if side == "textsiam-bf16" else "fp32"
        model = load_for_inference(args.model, quantization, dtype, compile=side == "textsiam-int8-compiled")

        def encode(texts):  # normalised like the sentence-transformers pipeline (its last module is Normalize)
            return torch.nn.functional.normalize(model.encode(texts, batch_size=args.batch_size), dim=-1).numpy()

    encode(sentences[:64])
    start = time.perf_counter()
    warmup = start - begin
    emb = encode(sentences)
    seconds = time.perf_counter() - start
    np.save(args.save, emb.astype(np.float32))
    speed = len(sentences) / seconds
    return {"side": side, "seconds": seconds, "sentences_per_s": speed, "peak_rss_mb": _peak_mb(), "warmup_s": warmup}


def _sentence_transformer(side: str, args: argparse.Namespace):
    """sentence-transformers on ``args.st_model``: fp32, bf16 weights, or its ONNX backend (int8: dynamically
    quantized for the CPU's VNNI units, exported into a temporary copy of the folder)."""
    import shutil

    import torch
    from sentence_transformers import SentenceTransformer

    folder = args.st_folder
    if side == "sentence-transformers":
        return SentenceTransformer(folder, device="cpu")
    if side == "st-bf16":
        return SentenceTransformer(folder, device="cpu", model_kwargs={"torch_dtype": torch.bfloat16})
    work = Path(tempfile.mkdtemp(prefix="st-onnx-"))
    shutil.copytree(folder, work / "model")  # the export writes onnx/ into the folder: never the packaged one
    if side in OPENVINO:
        return _st_openvino(side, work, args)
    st = SentenceTransformer(str(work / "model"), device="cpu", backend="onnx")
    if side == "st-onnx":
        return st
    from sentence_transformers import export_dynamic_quantized_onnx_model

    export_dynamic_quantized_onnx_model(st, "avx512_vnni", str(work / "model"))
    kwargs = {"file_name": "onnx/model_qint8_avx512_vnni.onnx"}
    return SentenceTransformer(str(work / "model"), device="cpu", backend="onnx", model_kwargs=kwargs)


def _st_openvino(side: str, work: Path, args: argparse.Namespace):
    """sentence-transformers' OpenVINO backend (the model exported to OpenVINO IR on load); int8: its static
    quantization, calibrated on a local table of textsiam's calibration sentences (the job file carries them)."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(work / "model"), device="cpu", backend="openvino")
    if side == "st-openvino":
        return st
    from sentence_transformers import export_static_quantized_openvino_model

    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # the calibration table is a local folder: never download
    table = work / "calibration"
    table.mkdir()
    texts = json.loads(Path(args.job).read_text())["calibration"]
    (table / "train.jsonl").write_text("".join(json.dumps({"sentence": t}) + "\n" for t in texts))
    export_static_quantized_openvino_model(st, None, str(work / "model"), str(table), "default", "train", "sentence")
    kwargs = {"file_name": "openvino/openvino_model_qint8_quantized.xml"}
    return SentenceTransformer(str(work / "model"), device="cpu", backend="openvino", model_kwargs=kwargs)


def _onnx_missing() -> str | None:
    import importlib.util

    missing = [m for m in ("optimum", "onnxruntime") if importlib.util.find_spec(m) is None]
    return f"{' and '.join(missing)} not installed (pip install -e '.[onnx]')" if missing else None


def growth_worker(n: int, args: argparse.Namespace) -> dict:
    """Stream N sentences (STS-B test repeated) from a text file through encode_file into a .npy."""
    from textsiam.deploy.quantize import load_for_inference
    from textsiam.index import encode_file

    a, b, _ = stsb_test(args.data)
    pool = a + b
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "texts.txt"
        with open(src, "w") as f:
            for i in range(n):
                f.write(pool[i % len(pool)] + "\n")
        model = load_for_inference(args.growth_model, args.quantize)
        base = _peak_mb()
        start = time.perf_counter()
        encode_file(model, src, Path(tmp) / "out.npy", batch_size=args.batch_size)
        seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "sentences_per_s": n / seconds, "peak_rss_mb": _peak_mb(), "loaded_mb": base}


def _spawn(flag: list[str], args: argparse.Namespace, save: str, python: str = sys.executable) -> dict:
    cmd = [python, __file__, *flag, "--data", args.data, "--batch-size", str(args.batch_size), "--save", save]
    cmd += ["--job", args.job] if args.job else []
    cmd += ["--limit", str(args.limit)] if args.limit else []
    if args.quantize:
        cmd += ["--quantize", args.quantize]
    cmd += ["--growth-model", args.growth_model, "--model", args.model, "--st-model", args.st_model]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _spearman(emb: np.ndarray, gold: np.ndarray) -> float:
    from scipy.stats import spearmanr

    n = len(gold)
    return float(spearmanr(np.sum(emb[:n] * emb[n:], axis=1), gold).statistic)  # rows are unit length: cosine


def _tokens(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from textsiam.encoders.pretrained import resolve_pretrained

    a, b, _ = stsb_test(args.data, args.limit)
    tok = AutoTokenizer.from_pretrained(resolve_pretrained(args.st_model))
    limit = getattr(tok, "model_max_length", 512)  # the ST folder's own max_seq_length: 256 MiniLM, 384 mpnet
    limit = json.loads((Path(args.st_folder) / "sentence_bert_config.json").read_text()).get("max_seq_length", limit)
    return int(sum(len(ids) for ids in tok(a + b, truncation=True, max_length=limit)["input_ids"]))


def compare(args: argparse.Namespace, tmp: str) -> dict:
    runs: dict[str, list[dict]] = {s: [] for s in args.sides}
    for r in range(args.repeats):
        for side in args.sides:
            python = args.st_python if side in ONNX and args.st_python else sys.executable
            python = args.st_openvino_python if side in OPENVINO else python
            result = _spawn(["--worker", side], args, f"{tmp}/{side}.npy", python)
            runs[side].append(result)
            print(
                f"run {r + 1} {side:24} {result['sentences_per_s']:8.1f} sent/s  peak {result['peak_rss_mb']:.0f} MB"
                f"  load + warm-up {result['warmup_s']:.1f} s"
            )
    _, _, gold = stsb_test(args.data, args.limit)
    tokens, mflop = _tokens(args), _mflop_per_token(args)
    summary = {"sentences": 2 * len(gold), "tokens": tokens, "batch_size": args.batch_size, "runs": runs}
    summary |= {"model": args.model, "st_model": args.st_model, "mflop_per_token": mflop, "peaks": args.peak}
    st = statistics.median(x["sentences_per_s"] for x in runs["sentence-transformers"])
    emb = {side: np.load(f"{tmp}/{side}.npy") for side in args.sides}
    for side in args.sides:
        speed = statistics.median(x["sentences_per_s"] for x in runs[side])
        summary[side] = {
            "median_sentences_per_s": speed,
            "ratio_to_st": speed / st,
            "ratios_per_round": [
                x["sentences_per_s"] / y["sentences_per_s"] for x, y in zip(runs[side], runs["sentence-transformers"])
            ],  # fmt: skip
            "peak_rss_mb": max(x["peak_rss_mb"] for x in runs[side]),
            "warmup_s": [x["warmup_s"] for x in runs[side]],
            "gflops": speed * tokens / summary["sentences"] * mflop / 1000,
            "test_spearman": _spearman(emb[side], gold),
            "max_abs_diff_to_st": float(np.abs(emb[side] - emb["sentence-transformers"]).max()),
        }
        dtype = "int8" if "int8" in side else "bf16" if "bf16" in side else "fp32"  # the matmuls' data type
        summary[side]["fraction_of_peak"] = summary[side]["gflops"] / args.peak[dtype]
    return summary


def _mflop_per_token(args: argparse.Namespace) -> float:
    """The encoder's matrix products per token, from its config: 2 x layers x (4 h^2 attention projections + 2 h f
    feed-forward), attention scores left out (they grow with the sequence; ~5% at STS-B's lengths). 21.2 for
    MiniLM-L6, 169.9 for mpnet-base."""
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(args.st_folder)
    h, f = c.hidden_size, c.intermediate_size
    return 2 * c.num_hidden_layers * (4 * h * h + 2 * h * f) / 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("TEXTSIAM_DATA", str(ROOT.parent / "shared" / "data")) + "/stsb")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit", type=int, help="only the first N test pairs (2N sentences): a quick, noisier run")
    p.add_argument("--repeats", type=int, default=3, help="rounds of A B C (0: skip the comparison)")
    p.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    p.add_argument("--model", default="minilm-twin", help="textsiam model (preset, folder) for the textsiam rows")
    p.add_argument("--st-model", default="all-MiniLM-L6-v2", help="the same model's sentence-transformers folder")
    p.add_argument("--growth", type=int, nargs="*", default=[], help="streamed sentence counts, e.g. 1000 10000")
    p.add_argument("--quantize", choices=["int8"], help="growth runs: quantized model")
    p.add_argument("--growth-model", default="minilm-twin", help="growth runs: model name or folder")
    p.add_argument("--st-python", help="python of an environment with sentence-transformers[onnx]: the ONNX rows")
    p.add_argument(
        "--st-openvino-python", help="python of an environment with sentence-transformers[openvino] and datasets"
    )
    p.add_argument(
        "--peak",
        type=lambda v: {k: float(x) for k, x in (kv.split("=") for kv in v.split(","))},
        default={"fp32": PEAK_GFLOPS, "bf16": PEAK_GFLOPS, "int8": PEAK_GFLOPS},
        help="matmul peaks per data type for the 'of peak' column, e.g. fp32=127,bf16=400,int8=600 "
        "(scripts/bench_gemm_dtype.py measures them; default: the fp32 peak for all)",
    )
    p.add_argument("--out", default="runs/bench_encode.json")
    p.add_argument("--job", help=argparse.SUPPRESS)
    p.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--growth-worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    if args.growth_worker:
        print(json.dumps(growth_worker(args.growth_worker, args)))
        return
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        from textsiam.deploy.quantize import CALIBRATION_FILE
        from textsiam.encoders.pretrained import resolve_pretrained

        a, b, _ = stsb_test(args.data, args.limit)
        args.st_folder, args.job = str(resolve_pretrained(args.st_model)), f"{tmp}/job.json"
        calibration = CALIBRATION_FILE.read_text().splitlines()
        job = {"sentences": a + b, "st_folder": args.st_folder, "calibration": calibration}
        Path(args.job).write_text(json.dumps(job))
        if args.repeats:
            if "sentence-transformers" not in args.sides:
                raise SystemExit("the comparison needs sentence-transformers among --sides")
            if any(side in OPENVINO for side in args.sides) and not args.st_openvino_python:
                print(f"skipping {', '.join(s for s in args.sides if s in OPENVINO)}: no --st-openvino-python")
                args.sides = [side for side in args.sides if side not in OPENVINO]
            if any(side in ONNX for side in args.sides) and not args.st_python and (why := _onnx_missing()):
                print(f"skipping {', '.join(s for s in args.sides if s in ONNX)}: {why}")
                args.sides = [side for side in args.sides if side not in ONNX]
            results["compare"] = compare(args, tmp)
            _print_compare(results["compare"], args.sides)
        for n in args.growth:
            g = _spawn(["--growth-worker", str(n)], args, f"{tmp}/g.npy")
            results.setdefault("growth", []).append(g)
            print(f"growth {n:7d}: {g['seconds']:8.1f} s  {g['sentences_per_s']:7.1f} sent/s  "
                  f"peak {g['peak_rss_mb']:.0f} MB (after loading {g['loaded_mb']:.0f} MB)")  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


def _print_compare(summary: dict, sides: list[str]) -> None:
    print(f"\n{summary['sentences']} sentences, {summary['tokens']} tokens, batch {summary['batch_size']}")
    head = ("side", "sent/s", "x ST", "peak MB", "GFLOP/s", "of peak", "spearman", "max|d|")
    print(f"{head[0]:24}" + "".join(f" {h:>9}" for h in head[1:]))
    keys = ("median_sentences_per_s", "ratio_to_st", "peak_rss_mb", "gflops", "fraction_of_peak", "test_spearman")
    for side in sides:
        s = summary[side]
        cells = [f"{s[k]:9.4f}" if k == "test_spearman" else f"{s[k]:9.2f}" for k in keys]
        print(f"{side:24} " + " ".join(cells) + f" {s['max_abs_diff_to_st']:9.2e}")


if __name__ == "__main__":
    main()
