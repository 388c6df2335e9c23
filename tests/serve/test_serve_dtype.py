"""``textsiam serve --dtype``: the served model runs in the asked precision and ``/v1/model`` says which."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install '.[serve]')")
uvicorn = pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install '.[serve]')")

from fastapi.testclient import TestClient  # noqa: E402

from tests.helpers.fixtures import RELOADED, free_port  # noqa: E402
from textsiam.cli.main import main  # noqa: E402
from textsiam.deploy import precision  # noqa: E402
from textsiam.deploy.precision import to_dtype  # noqa: E402

TEXTS = ["a man plays the guitar", "a woman eats pizza", "two children read a book"]


@pytest.fixture
def served(monkeypatch):
    """The app ``textsiam serve`` would run (uvicorn.run is replaced: nothing listens)."""
    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    return apps


def test_serve_dtype_auto_reports_bf16_and_embeds_as_the_library(capsys, twin_dir, twin, served, monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    argv = ["serve", "--model", str(twin_dir), "--port", str(free_port()), "--dtype", "auto", "--verbose"]
    assert main(argv) == 0
    assert "textsiam serve: dtype auto -> bf16: CPU has avx512_bf16" in capsys.readouterr().err
    with TestClient(served[0]) as client:
        info = client.get("/v1/model").json()
        got = client.post("/v1/embed", json={"texts": TEXTS}).json()["embeddings"]
    assert info["dtype"] == "bf16"
    want = to_dtype(twin, "bf16").encode(TEXTS).numpy()
    # the service encodes the three texts in one batch, as encode() does: the same bf16 weights, shapes and kernels
    # repeat the same arithmetic (RELOADED); a tolerance for other batches would have to allow a flipped bf16
    # rounding step (2^-9 of a value), which would hide a model served in another precision
    np.testing.assert_allclose(np.asarray(got), want, atol=RELOADED)


def test_serve_reports_fp32_by_default(twin_dir, served):
    assert main(["serve", "--model", str(twin_dir), "--port", str(free_port())]) == 0
    with TestClient(served[0]) as client:
        assert client.get("/v1/model").json()["dtype"] == "fp32"


def test_serve_fp16_without_it_is_refused_before_the_model_loads(capsys, twin_dir, served, monkeypatch):
    import textsiam.models.io

    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    monkeypatch.setattr(textsiam.models.io, "create_model", lambda *a, **k: pytest.fail("the model was loaded"))
    assert main(["serve", "--model", str(twin_dir), "--port", str(free_port()), "--dtype", "fp16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("textsiam serve: error: --dtype fp16: this CPU has none of avx512_fp16") and not served
