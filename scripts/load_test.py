"""Load test of `textsiam serve` on loopback: N /v1/similarity requests at concurrency C, bounded in count and time.

Reports throughput, p50 / p99 latency, the error count and the server's resident memory (VmRSS from
/proc/PID/status) before, in the middle and after. ``--poison-fraction F`` replaces that fraction of the requests
(spread evenly, the same ones every run) by poisoned ones, a pair with an empty or whitespace-only text, which must
be refused alone (4xx) while every valid request batched with them still gets its scores (200); the answers are
counted by status, valid and poisoned apart; and, alternating with the service rounds in the same run, the
same pairs scored by plain sequential ``model.similarity_scores`` calls (one call per request) in this process, as
a throughput ratio: what the cross-request batching buys.

    python scripts/load_test.py --model minilm-twin --requests 10000 --concurrency 32 \
        --pairs ../shared/data/stsb/sts-test.csv --json runs/load_test.json
    python scripts/load_test.py --model minilm-twin --requests 2000 --concurrency 16 --poison-fraction 0.05
    python scripts/load_test.py --model minilm-twin --api-key "$KEY" --endpoint embeddings --texts-per-request 32

``--endpoint embeddings`` sends OpenAI-shaped ``POST /v1/embeddings`` requests of ``--texts-per-request`` texts (the
pairs file's texts in order, a and b alternating) instead of ``/v1/similarity`` pairs; with ``--path`` and
``--url`` the same client loads any OpenAI-compatible embedding server (``scripts/bench_serving.py`` uses it for
infinity-emb); ``--baseline-requests 0`` skips the sequential baseline. ``--api-key KEY`` sends
``Authorization: Bearer KEY`` (and hands the key to the server it starts, through ``TEXTSIAM_API_KEY``).

Without ``--url`` the script starts the server itself (``textsiam serve`` on 127.0.0.1, a free port) and stops it
at the end; with ``--url http://127.0.0.1:PORT --pid PID`` it uses a running one (loopback addresses only).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_REQUESTS = 100_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="minilm-twin", help="preset or model folder (served, and used for the baseline)")
    p.add_argument("--url", default=None, help="a running server on loopback (default: start one)")
    p.add_argument("--pid", type=int, default=None, help="with --url: the server's process id, for its memory")
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--pairs-per-request", type=int, default=1)
    p.add_argument("--endpoint", choices=("similarity", "embeddings"), default="similarity", help="what to request")
    p.add_argument("--texts-per-request", type=int, default=2, help="with --endpoint embeddings")
    p.add_argument("--path", default=None, help="the route (default /v1/similarity or /v1/embeddings)")
    p.add_argument("--model-name", default="textsiam", help="the `model` field of an embeddings request")
    p.add_argument("--api-key", default=None, help="send `Authorization: Bearer KEY` (and start the server with it)")
    p.add_argument("--poison-fraction", type=float, default=0.0, help="requests with an empty text, 0..0.5")
    p.add_argument("--pairs", default=str(ROOT / "textsiam" / "cli" / "demo_pairs.tsv"), help="pairs file to draw from")
    p.add_argument("--rounds", type=int, default=4, help="service / sequential rounds, alternating")
    p.add_argument(
        "--baseline-requests", type=int, default=1000, help="sequential calls in all rounds together (0: none)"
    )
    p.add_argument("--max-seconds", type=float, default=1200, help="stop issuing requests after this long")
    p.add_argument("--threads", type=int, default=None, help="torch threads of the server and of the baseline")
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS or not 1 <= args.concurrency <= 256:
        p.error(f"--requests must be 1..{MAX_REQUESTS} and --concurrency 1..256")
    if not 0 <= args.poison_fraction <= 0.5:
        p.error(f"--poison-fraction must be between 0 and 0.5, got {args.poison_fraction}")
    if not 1 <= args.texts_per_request <= 1024 or args.baseline_requests < 0:
        p.error("--texts-per-request must be 1..1024 and --baseline-requests at least 0")
    args.path = args.path or f"/v1/{args.endpoint}"
    if args.url and urlparse(args.url).hostname not in LOOPBACK:
        p.error(f"--url must be a loopback address ({', '.join(sorted(LOOPBACK))}), got {args.url}")
    return args


# -- the server ----------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    model: str, threads: int | None, timeout: float = 300, api_key: str | None = None
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    if api_key:
        env["TEXTSIAM_API_KEY"] = api_key
    cmd = [sys.executable, "-m", "textsiam.cli.main", "serve", "--model", model, "--port", str(port)]
    cmd += ["--threads", str(threads)] if threads else []
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}; run `textsiam serve` by hand to see why")
        try:
            if _request(_connect(url), "GET", "/healthz", None)[0] == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the server did not answer within {timeout} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


# -- the load ------------------------------------------------------------------------------------------------------
def _connect(url: str) -> http.client.HTTPConnection:
    parts = urlparse(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


HEADERS = {"content-type": "application/json"}


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=HEADERS)
    answer = conn.getresponse()
    return answer.status, answer.read()


def run_round(
    url: str, bodies: list[tuple[bytes, bool]], concurrency: int, deadline: float, path: str = "/v1/similarity"
) -> dict:
    """Send ``bodies`` (body, poisoned) with ``concurrency`` threads, each on one keep-alive connection; latencies
    of the valid requests in seconds. A valid request must get 200 and its scores, a poisoned one a 4xx."""
    latencies: list[float] = []
    errors: list[str] = []
    statuses: dict[str, dict[str, int]] = {"valid": {}, "poisoned": {}}
    lock, cursor = threading.Lock(), iter(range(len(bodies)))

    def worker() -> None:
        conn = _connect(url)
        while time.monotonic() < deadline:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            body, poisoned = bodies[i]
            t0 = time.perf_counter()
            try:
                status, data = _request(conn, "POST", path, body)
                answer = json.loads(data)
                good = status == 200 and (answer["data"] if path.endswith("embeddings") else answer["scores"])
                ok = 400 <= status < 500 and "error" in answer if poisoned else good
                reason, seen = f"HTTP {status}: {data[:200]!r}", str(status)
            except (OSError, http.client.HTTPException, ValueError, KeyError) as err:
                ok, reason, seen = False, f"{type(err).__name__}: {err}", type(err).__name__
                conn.close()
                conn = _connect(url)
            with lock:
                counts = statuses["poisoned" if poisoned else "valid"]
                counts[seen] = counts.get(seen, 0) + 1
                if not ok:
                    errors.append(("poisoned " if poisoned else "valid ") + reason)
                elif not poisoned:
                    latencies.append(time.perf_counter() - t0)
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": time.perf_counter() - t0, "latencies": latencies, "errors": errors, "statuses": statuses}


def run_sequential(model, requests: list[tuple[list[str], list[str]]]) -> float:
    t0 = time.perf_counter()
    for a, b in requests:
        if b:
            model.similarity_scores(a, b)
        else:  # an embeddings request: its texts through the left tower
            model.encode(a, "left")
    return time.perf_counter() - t0


def make_requests(path: str, n: int, per: int) -> list[tuple[list[str], list[str]]]:
    from textsiam.api import load_data

    data = load_data(path)
    a, b = data.a, data.b
    return [
        ([a[(i * per + j) % len(a)] for j in range(per)], [b[(i * per + j) % len(b)] for j in range(per)])
        for i in range(n)
    ]


def make_text_requests(path: str, n: int, per: int) -> list[tuple[list[str], list[str]]]:
    """``(texts, [])`` per request: ``per`` texts of the pairs file in order, a and b alternating."""
    from textsiam.api import load_data

    data = load_data(path)
    texts = [t for pair in zip(data.a, data.b) for t in pair]
    return [([texts[(i * per + j) % len(texts)] for j in range(per)], []) for i in range(n)]


def _body(a: list[str], b: list[str], model_name: str = "textsiam") -> bytes:
    if not b:  # an embeddings request
        return json.dumps({"model": model_name, "input": a}).encode()
    return json.dumps({"pairs": [{"a": x, "b": y} for x, y in zip(a, b)]}).encode()


POISONS = ("", " ", "\t\n", "\u3000")  # empty, and whitespace-only (an ideographic space too)


def make_bodies(
    requests: list[tuple[list[str], list[str]]], fraction: float, model_name: str = "textsiam"
) -> list[tuple[bytes, bool]]:
    """(body, poisoned) per request: ``fraction`` of them, spread evenly, get one empty or whitespace-only text
    (cycling over the sides and the positions of its pairs) and are expected to be refused with a 4xx."""
    n = len(requests)
    poisoned = set(np.linspace(0, n - 1, round(n * fraction), dtype=int).tolist()) if fraction > 0 else set()
    bodies = []
    for i, (a, b) in enumerate(requests):
        if i in poisoned:
            a, b, j = list(a), list(b), i % len(a)
            (a if i % 2 or not b else b)[j] = POISONS[i % len(POISONS)]
        bodies.append((_body(a, b, model_name), i in poisoned))
    return bodies


# -- the run -------------------------------------------------------------------------------------------------------
def measure(args: argparse.Namespace, url: str, pid: int | None) -> dict:
    from textsiam.models.io import create_model

    if args.endpoint == "embeddings":
        requests = make_text_requests(args.pairs, args.requests, args.texts_per_request)
    else:
        requests = make_requests(args.pairs, args.requests, args.pairs_per_request)
    bodies = make_bodies(requests, args.poison_fraction, args.model_name)
    if args.api_key:
        HEADERS["authorization"] = f"Bearer {args.api_key}"
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = None
    if args.baseline_requests:
        model = create_model(args.model).eval()
        run_sequential(model, requests[:1])  # warm-up, like the server's first request below
    warm = [b for b in bodies if not b[1]][: args.concurrency]
    run_round(url, warm, args.concurrency, time.monotonic() + 120, args.path)
    deadline = time.monotonic() + args.max_seconds
    per_round, base_per_round = -(-len(bodies) // args.rounds), max(1, args.baseline_requests // args.rounds)
    rss = {"before": rss_mib(pid)}
    served, seq_seconds, seq_done, trace = [], 0.0, 0, []
    for r in range(args.rounds):
        served.append(
            run_round(url, bodies[r * per_round : (r + 1) * per_round], args.concurrency, deadline, args.path)
        )
        trace.append(rss_mib(pid))  # after each service round
        if r == args.rounds // 2 - 1:
            rss["middle"] = trace[-1]
        chunk = requests[r * base_per_round : (r + 1) * base_per_round] if model is not None else []
        seq_seconds += run_sequential(model, chunk)
        seq_done += len(chunk)
    rss["after"] = rss_mib(pid)
    result = summarize(args, served, seq_seconds, seq_done, rss)
    result["server_rss_mib_per_round"] = trace
    return result


def summarize(args: argparse.Namespace, served: list[dict], seq_seconds: float, seq_done: int, rss: dict) -> dict:
    latencies = np.array([x for r in served for x in r["latencies"]]) * 1000
    errors = [e for r in served for e in r["errors"]]
    statuses: dict[str, dict[str, int]] = {"valid": {}, "poisoned": {}}
    for r in served:
        for kind, counts in r["statuses"].items():
            for status, n in counts.items():
                statuses[kind][status] = statuses[kind].get(status, 0) + n
    seconds = sum(r["seconds"] for r in served)
    throughput = len(latencies) / seconds if seconds else 0.0
    sequential = seq_done / seq_seconds if seq_seconds else 0.0
    return {
        "model": args.model,
        "requests": args.requests,
        "completed": int(len(latencies)),
        "errors": len(errors),
        "poison_fraction": args.poison_fraction,
        "statuses": statuses,
        "valid_not_200": sum(n for status, n in statuses["valid"].items() if status != "200"),
        "poisoned_not_4xx": sum(n for status, n in statuses["poisoned"].items() if not status.startswith("4")),
        "first_errors": errors[:5],
        "concurrency": args.concurrency,
        "pairs_per_request": args.pairs_per_request,
        "endpoint": args.path,
        "texts_per_request": args.texts_per_request if args.endpoint == "embeddings" else None,
        "api_key": bool(args.api_key),
        "service_seconds": seconds,
        "requests_per_second": throughput,
        "latency_ms": {q: float(np.percentile(latencies, int(q[1:]))) for q in ("p50", "p99")}
        if len(latencies)
        else {},
        "server_rss_mib": rss,
        "sequential_requests": seq_done,
        "sequential_requests_per_second": sequential,
        "batching_gain": throughput / sequential if sequential else None,
        "cpus": os.cpu_count(),
        "threads": args.threads,
    }


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))


def print_table(result: dict) -> None:
    rss = result["server_rss_mib"]
    rows = [
        ("requests completed / errors", f"{result['completed']} / {result['errors']}"),
        ("valid requests by status", _counts(result["statuses"]["valid"])),
        ("poisoned requests by status", _counts(result["statuses"]["poisoned"]) or "none sent"),
        ("endpoint, API key", f"{result['endpoint']}, {'on' if result['api_key'] else 'off'}"),
        (
            "concurrency, items per request",
            f"{result['concurrency']}, {result['texts_per_request'] or result['pairs_per_request']}",
        ),
        ("service requests/s", f"{result['requests_per_second']:.1f}"),
        ("latency p50 / p99 (ms)", " / ".join(f"{v:.1f}" for v in result["latency_ms"].values())),
        ("server RSS before / middle / after (MiB)", " / ".join(f"{rss.get(k) or 0:.0f}" for k in rss)),
        ("sequential model calls/s", f"{result['sequential_requests_per_second']:.1f}"),
        ("batching gain (service / sequential)", f"{result['batching_gain'] or 0:.2f}x"),
    ]
    if not result["sequential_requests"]:  # --baseline-requests 0
        rows = rows[:-2]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    proc = None
    if args.url is None:
        proc, url = start_server(args.model, args.threads, api_key=args.api_key)
        pid = proc.pid
    else:
        url, pid = args.url, args.pid
    try:
        result = measure(args, url, pid)
    finally:
        if proc is not None:
            stop_server(proc)
    print_table(result)
    if args.json:
        from textsiam.atomic import write_json

        write_json(args.json, result)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
