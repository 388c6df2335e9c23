from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import BATCHED, ROOT
from textsiam.cli.main import main
from textsiam.models import create_model

TEXTS = [
    "a man plays the guitar",
    "a dog runs in the park",
    "two children read a book in the park with the dog",
    "the cat eats food",
    "a woman plays piano",
    "a red car",
    "people ride bikes on the street",
]


@pytest.fixture
def texts_file(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(TEXTS) + "\n")
    return path


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_encode_writes_the_rows_in_input_order(capsys, tiny_bert_dir, texts_file, tmp_path):
    code, _, err = _run(capsys, "encode", "--model", tiny_bert_dir, "--input", texts_file, "--output",
                        tmp_path / "e.npy", "--batch-size", 2)  # fmt: skip
    assert code == 0, err
    assert "wrote 7 x 32" in err
    expected = create_model(str(tiny_bert_dir)).encode(TEXTS).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), expected, atol=BATCHED)  # the CLI's batches


def test_encode_bad_inputs_are_clean_errors(capsys, tiny_bert_dir, texts_file, tmp_path):
    code, _, err = _run(
        capsys, "encode", "--model", tiny_bert_dir, "--input", texts_file, "--output", tmp_path / "e.csv"
    )
    assert code == 2 and ".npy or .parquet" in err
    code, _, err = _run(capsys, "encode", "--model", tiny_bert_dir, "--input", tmp_path / "nope.txt", "--output",
                        tmp_path / "e.npy")  # fmt: skip
    assert code == 2 and "nope.txt" in err and "not found" in err


def test_search_builds_an_index_and_reuses_it(capsys, tiny_bert_dir, texts_file, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("a man is playing a guitar\nthe cat eats food\n")
    common = ["search", "--model", tiny_bert_dir, "--queries", queries, "--top-k", 3]
    code, _, err = _run(capsys, *common, "--corpus", texts_file, "--index", tmp_path / "idx", "--output",
                        tmp_path / "a.jsonl")  # fmt: skip
    assert code == 0, err
    code, _, err = _run(capsys, *common, "--index", tmp_path / "idx", "--output", tmp_path / "b.jsonl")
    assert code == 0, err
    lines = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()
    assert [r["query_id"] for r in lines] == [0, 1] and lines[1]["query"] == "the cat eats food"
    assert len(lines[0]["results"]) == 3 and lines[1]["results"][0] == {"id": 3, "score": pytest.approx(1, abs=BATCHED)}
    code, _, err = _run(capsys, *common, "--output", tmp_path / "c.jsonl")
    assert code == 2 and "--corpus" in err


def test_search_with_faiss_keeps_the_exact_best_hit(capsys, tiny_bert_dir, texts_file, tmp_path):
    pytest.importorskip("faiss", reason="faiss-cpu not installed (pip install 'textsiam[ann]')")
    queries = tmp_path / "q.txt"
    queries.write_text("\n".join(TEXTS[:3]) + "\n")
    for kind in ("exact", "faiss"):
        out = tmp_path / f"{kind}.jsonl"
        code, _, err = _run(capsys, "search", "--model", tiny_bert_dir, "--queries", queries, "--corpus", texts_file,
                            "--index", tmp_path / "idx", "--index-type", kind, "--output", out)  # fmt: skip
        assert code == 0, err
    read = [[json.loads(x)["results"][0] for x in (tmp_path / f"{k}.jsonl").read_text().splitlines()] for k in
            ("exact", "faiss")]  # fmt: skip
    # each query is in the corpus: both find a hit of cosine 1 (a random tiny BERT has near-ties, so not the id)
    # faiss's own inner product (another BLAS, another order) on the same float32 vectors: a near-tie of cosines ~1 can
    # pick another row, within 1e-4 of cosine 1 (the tiny BERT's near-duplicates)
    assert [r["score"] for r in read[1]] == pytest.approx([r["score"] for r in read[0]], abs=1e-4)
    assert [r["score"] for r in read[0]] == pytest.approx([1, 1, 1], abs=BATCHED)
    assert (tmp_path / "idx" / "faiss.index").is_file()
    assert json.loads((tmp_path / "idx" / "index.json").read_text())["ann"] == {"kind": "hnsw"}


def test_quantize_flag_on_evaluate_and_score(capsys, tiny_bert_dir, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("text_a\ttext_b\tlabel\n" + "".join(f"{a}\t{b}\t{i % 2}\n" for i, (a, b) in
                                                         enumerate(zip(TEXTS, TEXTS[1:]))))  # fmt: skip
    code, _, err = _run(capsys, "evaluate", "--model", tiny_bert_dir, "--data", pairs, "--quantize", "int8",
                        "--json", tmp_path / "m.json")  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "m.json").read_text())["n"] == 6
    code, out, err = _run(capsys, "score", "--model", tiny_bert_dir, "--a", "a dog", "--b", "a cat", "--quantize",
                          "int8")  # fmt: skip
    assert code == 0 and "score:" in out, err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# [parquet] compares the same numbers as [npy] through another file format: the avx2 pass of scripts/test.sh keeps the
# numerics ([npy]) and skips only the format case
@pytest.mark.parametrize("suffix", ["npy", pytest.param("parquet", marks=pytest.mark.isa_independent)])
def test_torchrun_two_processes_write_the_single_process_output(tiny_bert_dir, texts_file, tmp_path, suffix):
    from textsiam.index.arrays import read_embeddings

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           "-m", "textsiam", "encode", "--model", str(tiny_bert_dir), "--input", str(texts_file),
           "--quiet"]  # fmt: skip
    done = subprocess.run(
        [*run, "--output", str(tmp_path / f"two.{suffix}")], env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    # the single-process run: the same command through the CLI's entry point in this process, on one thread as the
    # ranks run (saves an interpreter start)
    one = ["encode", "--model", str(tiny_bert_dir), "--input", str(texts_file), "--quiet"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main([*one, "--output", str(tmp_path / f"one.{suffix}")]) == 0
    finally:
        torch.set_num_threads(threads)
    two, single = read_embeddings(tmp_path / f"two.{suffix}"), read_embeddings(tmp_path / f"one.{suffix}")
    assert two.shape == single.shape == (len(TEXTS), 32)
    # shards batch differently: float32 rounding only, of the tiny BERT (hidden 32, 2 layers: sums of <= 64 terms,
    # ~n * 2^-24 = 4e-6 at worst, a few ulps in practice); 1e-6 is tighter than BATCHED because this model is tiny
    np.testing.assert_allclose(two, single, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([texts_file.name, f"one.{suffix}", f"two.{suffix}"])
