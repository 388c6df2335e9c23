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
    log_level: str = "info",
) -> None:
    """``textsiam serve``: ``model`` is a saved model folder or a preset name; ``index`` an index folder."""
    try:
        import uvicorn
    except ImportError:
        raise ImportError("textsiam serve needs FastAPI and uvicorn: pip install 'textsiam[serve]'") from None
    from textsiam.models.io import create_model
    from textsiam.serve.app import create_app
    from textsiam.serve.index import load_index

    pair_model = create_model(model)
    if device:
        pair_model.to(device)
    search_index = load_index(index) if index else None
    name = Path(model).name if Path(model).is_dir() else model
    app = create_app(pair_model, name=name, limits=limits, index=search_index)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1, timeout_graceful_shutdown=5)
