"""Run the service with uvicorn: load the model (and index), build the app, serve until interrupted."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from textsiam.errors import ConfigError
from textsiam.serve.limits import Limits


def check_address(host: str, port: int) -> None:
    """Refuse a port out of range, a host that does not resolve and an address this machine cannot listen on (in
    use, not one of its own) as a one-line ``ConfigError`` naming the flag, before the model loads."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"--port {port} is out of range: use a port number from 1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(
            f"--host {host!r} does not resolve to an address ({reason}): use an address of this machine, "
            "e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces)"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as err:
            raise ConfigError(
                f"cannot listen on --host {host} --port {port} ({err.strerror}): pick another --port, stop the "
                "process using it, or use an address of this machine"
            ) from None


def serve(
    model: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    index: str | None = None,
    limits: Limits | None = None,
    device: str | None = None,
    dtype: str = "fp32",
    threads: int | None = None,
    log_level: str = "info",
    api_key: str | None = None,
    open_metrics: bool = False,
    log_format: str = "plain",
) -> None:
    """``textsiam serve``: ``model`` is a saved model folder or a preset name; ``index`` an index folder;
    ``threads`` sets torch's intra-op threads (on a machine shared with other busy processes, 1 avoids the
    oversubscription slowdown of spinning worker threads); ``api_key``: every path but ``/healthz`` (and
    ``/metrics`` with ``open_metrics``) needs ``Authorization: Bearer KEY``; ``log_format``: ``plain`` or ``json``
    (one line per request either way, uvicorn's own lines in the same format); ``dtype``: the precision the model
    runs in (fp32, bf16, fp16, auto: :mod:`textsiam.deploy.precision`), reported by ``/v1/model``."""
    try:
        import uvicorn
    except ImportError:
        raise ImportError("textsiam serve needs FastAPI and uvicorn: pip install 'textsiam[serve]'") from None
    from textsiam.serve.auth import check_api_key

    if threads is not None and threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads}")
    if log_format not in ("plain", "json"):
        raise ConfigError(f"--log-format {log_format!r} is not known: use plain or json")
    if api_key is not None:
        check_api_key(api_key)
    check_address(host, port)
    import torch

    from textsiam.api.common import built_model, device_of
    from textsiam.deploy.precision import check_dtype
    from textsiam.index.store import load_index
    from textsiam.serve.access import log_config
    from textsiam.serve.app import create_app

    if threads is not None:
        torch.set_num_threads(threads)
    logging.captureWarnings(True)  # warnings as log lines in --log-format (log_config's py.warnings logger)
    on = device_of(device)
    check_dtype(dtype, None, on or "cpu")  # before the index loads: fp16 where the device lacks it is refused
    search_index = load_index(index, mmap=False) if index else None  # held in memory; checked before the model loads
    pair_model = built_model(model, on, dtype=dtype)
    name = Path(model).name if Path(model).is_dir() else model
    app = create_app(
        pair_model, name=name, limits=limits, index=search_index, api_key=api_key, open_metrics=open_metrics
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config(log_format, log_level),
        access_log=False,  # the service logs its own line per request (textsiam.serve.access)
        workers=1,
        timeout_graceful_shutdown=5,
    )
