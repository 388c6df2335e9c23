from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.fixtures import needs_minilm
from textsiam.encoders import pretrained
from textsiam.errors import ModelNotFoundError


def test_unknown_name_offline_fails_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="Hugging Face hub") as err:
        pretrained.resolve_pretrained("nobody/no-such-model")
    assert "local folder" in str(err.value) and "all-MiniLM-L6-v2" in str(err.value)


def test_local_folder_must_be_a_transformers_folder(tmp_path, tiny_bert_dir):
    assert pretrained.resolve_pretrained(str(tiny_bert_dir)) == tiny_bert_dir
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        pretrained.resolve_pretrained(str(tmp_path))


@needs_minilm
def test_packaged_minilm_resolves_by_short_and_hub_name():
    short = pretrained.resolve_pretrained("all-MiniLM-L6-v2")
    assert pretrained.resolve_pretrained("sentence-transformers/all-MiniLM-L6-v2") == short
    assert (short / "model.safetensors").exists()


@needs_minilm
def test_checksum_mismatch_is_refused(monkeypatch):
    spec = pretrained.PACKAGED["all-MiniLM-L6-v2"]
    bad = pretrained.PackagedModel(**{**spec.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(pretrained.PACKAGED, "all-MiniLM-L6-v2", bad)
    with pytest.raises(ModelNotFoundError, match="sha256"):
        pretrained.resolve_pretrained("all-MiniLM-L6-v2")


@needs_minilm
@pytest.mark.slow
def test_minilm_twin_published_sts_test_spearman(shared_data):
    """all-MiniLM-L6-v2's published STS-B test Spearman (cosine) is 0.8203; the twin must reproduce it."""
    from textsiam.api import evaluate, load_data
    from textsiam.models import create_model

    metrics, scores = evaluate(create_model("minilm-twin"), load_data(shared_data / "stsb" / "sts-test.csv"))
    assert metrics["n"] == 1379 and np.isfinite(scores).all()
    # the published 0.8203 to its 4 printed digits, +-5 in the last one: measured 0.8203 natively (avx512) and under
    # avx2 kernels (docs/benchmarks.md); kernel rounding of the embeddings (~1e-6) can only swap near-tied ranks
    assert abs(metrics["spearman"] - 0.8203) <= 0.0005
