"""CLI and service ends of the breadth features: mine-negatives, encode --dim, the OpenAI ``dimensions`` field."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.fixtures import BATCHED
from textsiam.cli.main import main
from textsiam.data import read_pairs
from textsiam.index.truncate import truncate
from textsiam.models import create_model

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food",
         "a woman plays piano", "a red car", "people ride bikes on the street", "a bird sings"]  # fmt: skip


def _run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_mine_negatives_cli_writes_triplets_the_readers_read(capsys, tiny_bert_dir, tmp_path):
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(TEXTS) + "\n")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("text_a\ttext_b\na man is playing guitar\ta man plays the guitar\na cat eats\tthe cat eats food\n")
    out = tmp_path / "triplets.tsv"
    code, err = _run(capsys, "mine-negatives", "--model", tiny_bert_dir, "--data", pairs, "--corpus", corpus,
                     "--out", out, "--negatives", "2", "--max-rank", "5", "--quiet")  # fmt: skip
    assert code == 0, err
    assert "wrote 2 of 2 anchors" in err
    triplets = read_pairs(out)
    assert out.read_text().splitlines()[0] == "anchor\tpositive\tnegative_1\tnegative_2"
    assert triplets.a == ["a man is playing guitar", "a cat eats"] and triplets.labels.tolist() == [1.0, 1.0]
    assert all(len(set(n)) == 2 and b not in n for b, n in zip(triplets.b, triplets.negatives))


def test_mine_negatives_cli_bad_settings_are_one_line_errors(capsys, tmp_path):
    code, err = _run(capsys, "mine-negatives", "--model", "x", "--data", "y", "--corpus", "z", "--out",
                     tmp_path / "o.tsv", "--negatives", "0")  # fmt: skip
    assert code == 2 and err.strip() == "textsiam mine-negatives: error: negatives must be an integer >= 1, got 0"


@pytest.mark.parametrize("dim", [8, 32])
def test_encode_dim_truncates_and_renormalises(capsys, tiny_bert_dir, tmp_path, dim):
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n")
    code, err = _run(capsys, "encode", "--model", tiny_bert_dir, "--input", texts, "--output", tmp_path / "e.npy",
                     "--dim", dim)  # fmt: skip
    assert code == 0, err
    assert f"wrote 8 x {dim}" in err
    got = np.load(tmp_path / "e.npy")
    full = create_model(str(tiny_bert_dir)).encode(TEXTS).numpy()
    expected = full[:, :dim] / np.linalg.norm(full[:, :dim], axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=BATCHED)  # the CLI's batches differ from one encode call
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)  # float32 norm of a unit vector


@pytest.mark.parametrize("dim", [0, 33])
def test_encode_dim_outside_the_model_is_refused(capsys, tiny_bert_dir, tmp_path, dim):
    texts = tmp_path / "texts.txt"
    texts.write_text("x\n")
    code, err = _run(capsys, "encode", "--model", tiny_bert_dir, "--input", texts, "--output", tmp_path / "e.npy",
                     "--dim", dim)  # fmt: skip
    assert code == 2 and f"dim={dim} is not available: this model makes 32-dim vectors; ask for 1..32" in err
    assert not (tmp_path / "e.npy").exists()


def test_truncate_keeps_zero_rows_and_unit_norms():
    x = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 5.0]], dtype=np.float32)
    np.testing.assert_allclose(truncate(x, 2), [[0.6, 0.8], [0.0, 0.0]], atol=1e-7)  # float32 division


def test_service_dimensions_field_truncates(tiny_bert_dir):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from textsiam.serve import create_app

    model = create_model(str(tiny_bert_dir)).eval()
    with TestClient(create_app(model, name="tiny")) as client:
        got = client.post("/v1/embeddings", json={"input": TEXTS[:3], "model": "m", "dimensions": 8}).json()
        bad = client.post("/v1/embeddings", json={"input": "x", "model": "m", "dimensions": 0})
    vectors = np.array([d["embedding"] for d in got["data"]])
    np.testing.assert_allclose(vectors, truncate(model.encode(TEXTS[:3]).numpy(), 8), atol=BATCHED)
    assert bad.status_code == 422 and "ask for 1..32" in bad.text
