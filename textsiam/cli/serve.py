"""``textsiam serve``: an HTTP service scoring pairs, deciding matches, embedding texts and searching an index
with one model (FastAPI + uvicorn: pip install 'textsiam[serve]'). The API is listed at http://HOST:PORT/docs."""

from __future__ import annotations

import argparse
import importlib.util
import os

from textsiam.cli.common import add_precision_flags

API_KEY_ENV = "TEXTSIAM_API_KEY"  # the name textsiam.serve.auth reads too (not imported here: FastAPI may be absent)


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve a model over HTTP", description=__doc__)
    p.add_argument("--model", required=True, help="saved model folder or preset name")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--index", default=None, help="a search index folder (from `textsiam encode`) for /v1/search")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: where the model loads)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's, one per core)")
    add_precision_flags(p, quantize=False)
    p.add_argument(
        "--api-key",
        default=None,
        help=f"require `Authorization: Bearer KEY` on every path but /healthz (default: ${API_KEY_ENV} if set; "
        "the variable keeps the key out of the process list)",
    )
    p.add_argument(
        "--open-metrics",
        action="store_true",
        help="serve /metrics without the API key (a Prometheus scraper inside the cluster); default: it needs the key",
    )
    p.add_argument(
        "--log-format",
        choices=("plain", "json"),
        default="plain",
        help="the log lines, one per request (default plain)",
    )
    g = p.add_argument_group("limits")
    g.add_argument("--max-items", type=int, default=256, help="pairs / texts / queries per request")
    g.add_argument("--max-chars", type=int, default=10_000, help="characters per text")
    g.add_argument("--max-batch", type=int, default=256, help="texts per inference batch across requests")
    g.add_argument(
        "--window-ms",
        type=float,
        default=2.0,
        help="how long a batch waits for one more request to join it (at most 10 windows in all)",
    )
    g.add_argument("--max-pending", type=int, default=1024, help="queued requests before answering 429")
    g.add_argument(
        "--retry-after", type=int, default=1, help="seconds a 429 tells the client to wait (Retry-After header)"
    )
    g.add_argument(
        "--body-timeout",
        type=float,
        default=10.0,
        help="seconds a request body may take to arrive in full (then 408)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from textsiam.device import resolve_device
    from textsiam.errors import ConfigError

    if args.device is not None:  # a one-line error before the model loads (the API commands check theirs)
        resolve_device(args.device)
    from textsiam.serve.limits import Limits

    limits = Limits(
        max_items=args.max_items,
        max_chars=args.max_chars,
        max_batch=args.max_batch,
        window_ms=args.window_ms,
        max_pending=args.max_pending,
        retry_after_s=args.retry_after,
        body_timeout_s=args.body_timeout,
    )
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV)
    missing = [m for m in ("fastapi", "uvicorn", "prometheus_client") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"textsiam serve needs {' and '.join(missing)}: pip install 'textsiam[serve]'")
    from textsiam.serve.server import serve

    serve(
        args.model,
        host=args.host,
        port=args.port,
        index=args.index,
        limits=limits,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        api_key=api_key,
        open_metrics=args.open_metrics,
        log_format=args.log_format,
    )
    return 0
