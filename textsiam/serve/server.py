"""Run the service with uvicorn: load the model (and index), build the app, serve until interrupted."""

from __future__ import annotations

from pathlib import Path

from textsiam.serve.limits import Limits


def serve(
    model: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    index: str | None = None,
    limits: Limits | None = None,
    device: str | None = None,
    threads: int | None = None,
    log_level: str = "info",
) -> None:
    """``textsiam serve``: ``model`` is a saved model folder or a preset name; ``index`` an index folder;
    ``threads`` sets torch's intra-op threads (on a machine shared with other busy processes, 1 avoids the
    oversubscription slowdown of spinning worker threads)."""
    try:
        import uvicorn
    except ImportError:
        raise ImportError("textsiam serve needs FastAPI and uvicorn: pip install 'textsiam[serve]'") from None
    import torch

    from textsiam.errors import ConfigError
    from textsiam.index.store import load_index
    from textsiam.models.io import create_model
    from textsiam.serve.app import create_app

    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads must be a positive integer, got {threads}")
        torch.set_num_threads(threads)
    search_index = load_index(index, mmap=False) if index else None  # held in memory; checked before the model loads
    pair_model = create_model(model)
    if device:
        pair_model.to(device)
    name = Path(model).name if Path(model).is_dir() else model
    app = create_app(pair_model, name=name, limits=limits, index=search_index)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, timeout_graceful_shutdown=5)
