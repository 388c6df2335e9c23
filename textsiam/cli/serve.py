"""``textsiam serve``: an HTTP service scoring pairs, deciding matches, embedding texts and searching an index
with one model (FastAPI + uvicorn: pip install 'textsiam[serve]'). The API is listed at http://HOST:PORT/docs."""

from __future__ import annotations

import argparse
import importlib.util


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve a model over HTTP", description=__doc__)
    p.add_argument("--model", required=True, help="saved model folder or preset name")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--index", default=None, help="a search index folder (from `textsiam encode`) for /v1/search")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: where the model loads)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's, one per core)")
    g = p.add_argument_group("limits")
    g.add_argument("--max-items", type=int, default=256, help="pairs / texts / queries per request")
    g.add_argument("--max-chars", type=int, default=10_000, help="characters per text")
    g.add_argument("--max-batch", type=int, default=256, help="texts per inference batch across requests")
    g.add_argument("--window-ms", type=float, default=2.0, help="how long to wait for more requests to batch")
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
        body_timeout_s=args.body_timeout,
    )
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
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
        threads=args.threads,
    )
    return 0
