"""``--dtype`` / ``dtype=`` on encode, search, evaluate and score: the CLI and the Python API run the same conversion
(``textsiam.api.common.built_model``), ``auto`` follows ``precision.native``, and the refusals are one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.fixtures import BATCHED, RELOADED, WORDS, write_word_pairs
from textsiam import api
from textsiam.cli.common import DTYPES
from textsiam.cli.main import main
from textsiam.deploy import precision
from textsiam.deploy.precision import dtype_of
from textsiam.errors import ConfigError
from textsiam.models import create_model

TEXTS = ["a man plays the guitar", "a dog runs in the park", "two children read a book", "the cat eats food"]


@pytest.fixture
def texts_file(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(TEXTS) + "\n")
    return path


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU that has native bf16 and no fp16, with no oneDNN cap (what ``auto`` and ``fp16`` are decided from)."""
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _encode_cli(capsys, model, texts_file, out, *flags) -> tuple[np.ndarray, str]:
    code, _, err = _run(capsys, "encode", "--model", model, "--input", texts_file, "--output", out, *flags)
    assert code == 0, err
    return np.load(out), err


def test_the_cli_offers_the_dtypes_precision_knows():
    assert DTYPES == precision.CHOICES


def test_encode_bf16_cli_and_api_agree_and_differ_from_fp32(capsys, tiny_bert_dir, texts_file, tmp_path, bf16_cpu):
    cli, err = _encode_cli(capsys, tiny_bert_dir, texts_file, tmp_path / "c.npy", "--dtype", "bf16", "--verbose")
    assert "textsiam encode: dtype bf16: CPU has avx512_bf16" in err
    api.encode(str(tiny_bert_dir), texts_file, tmp_path / "a.npy", dtype="bf16")
    # the same weights converted the same way, the same texts in the same batches: the same kernels repeat the same
    # arithmetic, so the CLI's and the API's bf16 embeddings agree to float32 rounding (RELOADED)
    np.testing.assert_allclose(cli, np.load(tmp_path / "a.npy"), atol=RELOADED)
    full = api.encode(str(tiny_bert_dir), texts_file, tmp_path / "f.npy")
    full = np.load(full.output)
    # each coordinate's change relative to its embedding's norm (this tiny twin does not normalise: norms ~3)
    moved = (np.abs(cli - full).max(axis=1) / np.linalg.norm(full, axis=1)).max()
    # bf16 keeps 8 significant bits: each stored weight and activation is rounded by up to 2^-9 (~0.2%) of itself.
    # Lower bound: that moves the embeddings by ~1e-3 of their norm (measured 2e-3, natively and under AVX2), 100x
    # the 1e-5 float32 batching moves them (BATCHED): bf16 really ran. Upper bound: the roundings of 2 layers of
    # sums of 32-64 terms add up like a random walk, ~sqrt(64) = 8 of them, so 8 * 2^-9 ~ 0.016 of the norm; the
    # emulated (AVX2) path rounds the same values to the same 8 bits (measured: the same 2e-3)
    assert BATCHED * 10 < moved < 8 * 2**-9, moved


def test_auto_follows_the_cpu_and_says_why(capsys, tiny_bert_dir, texts_file, tmp_path, bf16_cpu, monkeypatch):
    half = np.load(api.encode(str(tiny_bert_dir), texts_file, tmp_path / "h.npy", dtype="bf16").output)
    full = np.load(api.encode(str(tiny_bert_dir), texts_file, tmp_path / "f.npy", dtype="fp32").output)
    auto, err = _encode_cli(capsys, tiny_bert_dir, texts_file, tmp_path / "a.npy", "--dtype", "auto", "--verbose")
    assert "textsiam encode: dtype auto -> bf16: CPU has avx512_bf16\n" in err
    np.testing.assert_allclose(auto, half, atol=RELOADED)  # the same conversion, the same batches
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # a CPU with bf16, capped below it: auto stays fp32
    auto, err = _encode_cli(capsys, tiny_bert_dir, texts_file, tmp_path / "b.npy", "--dtype", "auto", "--verbose")
    assert "dtype auto -> fp32: CPU has avx512_bf16 but ONEDNN_MAX_CPU_ISA=AVX2 caps it" in err
    np.testing.assert_allclose(auto, full, atol=RELOADED)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    _, err = _encode_cli(capsys, tiny_bert_dir, texts_file, tmp_path / "c.npy", "--dtype", "auto", "--verbose")
    assert "dtype auto -> fp32: this CPU has none of avx512_bf16 / amx_bf16" in err
    _, err = _encode_cli(capsys, tiny_bert_dir, texts_file, tmp_path / "d.npy", "--dtype", "auto")
    assert "dtype" not in err  # without --verbose the choice is not printed


def test_an_emulated_bf16_is_a_warning_line_without_verbose(capsys, tiny_bert_dir, texts_file, tmp_path, monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    half, err = _encode_cli(capsys, tiny_bert_dir, texts_file, tmp_path / "e.npy", "--dtype", "bf16")
    warned = [line for line in err.splitlines() if line.startswith("textsiam encode: warning: --dtype bf16:")]
    assert len(warned) == 1 and "this CPU has none of avx512_bf16 / amx_bf16" in warned[0], err
    assert warned[0].endswith("use --dtype auto or fp32") and half.shape[0] == len(TEXTS)  # still encoded


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if a model would load: the refusals below come first."""
    import textsiam.models.io

    monkeypatch.setattr(textsiam.models.io, "create_model", lambda *a, **k: pytest.fail("the model was loaded"))


@pytest.mark.parametrize("command", ["encode", "search", "evaluate", "score"])
def test_int8_with_bf16_is_refused_naming_both_flags(capsys, tmp_path, texts_file, no_model_load, command):
    pairs = write_word_pairs(tmp_path / "pairs.tsv", n=4)
    given = {
        "encode": ["--input", texts_file, "--output", tmp_path / "e.npy"],
        "search": ["--queries", texts_file, "--corpus", texts_file, "--output", tmp_path / "s.jsonl"],
        "evaluate": ["--data", pairs],
        "score": ["--a", "a dog", "--b", "a cat"],
    }[command]
    code, _, err = _run(capsys, command, "--model", "any-model", *given, "--quantize", "int8", "--dtype", "bf16")
    assert code == 2, err
    assert err == (
        f"textsiam {command}: error: choose one of --quantize int8 and --dtype bf16: both set the precision (int8 "
        "replaces the dtype); drop one of the two flags\n"
    )


def test_fp16_on_a_cpu_without_it_is_a_one_line_error(capsys, texts_file, tmp_path, bf16_cpu, no_model_load):
    code, _, err = _run(capsys, "encode", "--model", "any-model", "--input", texts_file, "--output", tmp_path / "e.npy",
                        "--dtype", "fp16")  # fmt: skip
    assert code == 2 and "Traceback" not in err
    assert err == (
        "textsiam encode: error: --dtype fp16: this CPU has none of avx512_fp16 / amx_fp16 (/proc/cpuinfo), so "
        "float16 would be emulated (slower than fp32); use --dtype bf16 or fp32\n"
    )


def test_api_refusals_come_before_the_model_loads(tiny_bert_dir, bf16_cpu, no_model_load):
    with pytest.raises(ConfigError, match="choose one of --quantize int8 and --dtype fp16"):
        api.score_texts("any-model", ["a"], ["b"], quantize="int8", dtype="fp16")
    with pytest.raises(ConfigError, match="unknown dtype 'half'; choose one of fp32, bf16, fp16, auto"):
        api.evaluate("any-model", "digits:test", dtype="half")


def test_a_model_object_is_converted_as_a_copy(tiny_bert_dir, texts_file, tmp_path, bf16_cpu, caplog):
    from textsiam.api.common import built_model

    model = create_model(str(tiny_bert_dir)).eval()
    with caplog.at_level("INFO", logger="textsiam"):
        half = built_model(model, None, dtype="auto")
        q = built_model(model, None, quantize="int8", dtype="auto")  # auto gives way to an explicit int8
    assert dtype_of(half) == "bf16" and dtype_of(model) == "fp32" and half is not model
    assert dtype_of(q) == "int8" and dtype_of(model) == "fp32"
    assert caplog.messages == [
        "dtype auto -> bf16: CPU has avx512_bf16",
        "dtype auto -> int8: --quantize int8 replaces --dtype auto",
    ]
    assert built_model(model, None) is model  # fp32: the object itself
    done = api.encode(model, texts_file, tmp_path / "m.npy", dtype="bf16")
    by_name = api.encode(str(tiny_bert_dir), texts_file, tmp_path / "n.npy", dtype="bf16")
    np.testing.assert_allclose(np.load(done.output), np.load(by_name.output), atol=RELOADED)
    assert dtype_of(model) == "fp32"


def _graded_pairs(path):
    """12 pairs of random WORDS with graded labels 0.0 .. 4.5 (a Pearson that moves with every score)."""
    import random

    rng = random.Random(0)
    rows = [f"{' '.join(rng.sample(WORDS, 5))}\t{' '.join(rng.sample(WORDS, 5))}\t{i % 6 * 0.9:.1f}" for i in range(12)]
    path.write_text("sentence1\tsentence2\tlabel\n" + "\n".join(rows) + "\n")
    return path


def test_score_evaluate_search_cli_agree_with_the_api(capsys, tiny_bert_dir, texts_file, tmp_path, bf16_cpu):
    model, flags = str(tiny_bert_dir), ["--dtype", "bf16", "--verbose"]
    code, out, err = _run(capsys, "score", "--model", model, "--a", TEXTS[0], "--b", TEXTS[1], *flags)
    assert code == 0 and "textsiam score: dtype bf16: CPU has avx512_bf16" in err
    full = api.score_texts(model, [TEXTS[0]], [TEXTS[1]])["score"][0]
    half = api.score_texts(model, [TEXTS[0]], [TEXTS[1]], dtype="bf16")["score"][0]
    assert out.strip() == f"score: {half}" and half != full  # printed to 6 decimals; bf16 moves this one by 8e-4
    pairs = _graded_pairs(tmp_path / "graded.tsv")
    code, _, err = _run(capsys, "evaluate", "--model", model, "--data", pairs, "--json", tmp_path / "m.json", *flags)
    assert code == 0 and "textsiam evaluate: dtype bf16" in err
    got = json.loads((tmp_path / "m.json").read_text())["pearson"]
    want, full = api.evaluate(model, str(pairs), dtype="bf16")[0]["pearson"], api.evaluate(model, str(pairs))[0]
    # the same bf16 scores (same weights, batches, kernels): the same Pearson to float rounding (RELOADED); bf16
    # moves the 12 scores by ~1e-3, which moves Pearson by ~1e-3 from fp32's (measured 3e-3)
    assert got == pytest.approx(want, abs=RELOADED) and got != pytest.approx(full["pearson"], abs=1e-4)
    argv = ["search", "--model", model, "--queries", texts_file, "--corpus", texts_file, "--top-k", 2]
    code, _, err = _run(capsys, *argv, "--output", tmp_path / "c.jsonl", *flags)
    assert code == 0 and "textsiam search: dtype bf16" in err
    api.search_files(model_name=model, queries=texts_file, corpus=texts_file, top_k=2, output=tmp_path / "a.jsonl",
                     dtype="bf16")  # fmt: skip
    assert (tmp_path / "c.jsonl").read_text() == (tmp_path / "a.jsonl").read_text()
