"""A fuzz harness over the CLI and the Python API: a table of bad and odd inputs (plus a hypothesis property over
text lists), each answer classified as

- ``clear error``: a textsiam error (``TextsiamError``) whose message names the value, or for the CLI exit code 2
  with one line ``textsiam COMMAND: error: ...`` (or argparse's usage error) naming it;
- ``correct``: a result, checked against what it must be;
- ``failure``: anything else: another exception (a traceback), a wrong or silent result, an error where a result was
  due, a hang (a per-case alarm).

The test fails on any failure and prints the counts per class (docs/reliability.md, "Fuzz harness"). The HTTP routes
have their own harness (tests/fuzz/test_fuzz_http.py). Everything runs in-process on the tiny random BERT.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import textsiam
from tests.helpers.fixtures import no_hang
from textsiam.cli.main import main
from textsiam.errors import TextsiamError

HANG_SECONDS = 30
CLEAR, CORRECT, FAILURE = "clear error", "correct", "failure"


@dataclass
class Case:
    """One input: ``run(world)`` gives an answer; ``error`` is a text the clear error must contain (the value it
    names), or None when a result is due and ``check(result, world)`` must hold."""

    name: str
    run: Callable[[dict], Any]
    error: str | None = None
    check: Callable[[Any, dict], bool] | None = None


@dataclass
class CliAnswer:
    code: int
    out: str
    err: str


def cli(*argv: Any) -> Callable[[dict], CliAnswer]:
    """Run ``textsiam ARGV`` in-process; ``{name}`` in an argument is filled from the world's paths."""

    def run(world: dict) -> CliAnswer:
        args = [str(a).format(**world) for a in argv]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exit_:  # argparse's usage errors
                code = exit_.code if isinstance(exit_.code, int) else 1
        return CliAnswer(code, out.getvalue(), err.getvalue())

    return run


def classify(case: Case, world: dict) -> tuple[str, str]:
    """(class, what happened) of one case."""
    try:
        with no_hang(HANG_SECONDS):
            answer = case.run(world)
    except TextsiamError as err:
        message = str(err)
        if case.error is not None and case.error in message and "\n" not in message.strip():
            return CLEAR, message
        return FAILURE, f"{type(err).__name__}: {message[:300]} (expected a result or an error naming {case.error!r})"
    except Exception as err:  # noqa: BLE001 - anything else is what the harness is looking for
        return FAILURE, f"{type(err).__name__}: {str(err)[:300]}"
    try:
        if isinstance(answer, CliAnswer):
            return _classify_cli(case, answer, world)
        if case.error is not None:
            return FAILURE, f"a result where a clear error naming {case.error!r} was due: {str(answer)[:200]}"
        return (CORRECT, "checked") if case.check(answer, world) else (FAILURE, f"wrong result: {str(answer)[:300]}")
    except Exception as err:  # noqa: BLE001 - a result the check cannot even read is wrong
        return FAILURE, f"unreadable result ({type(err).__name__}: {err}): {str(answer)[:300]}"


def _classify_cli(case: Case, answer: CliAnswer, world: dict) -> tuple[str, str]:
    lines = [line for line in answer.err.splitlines() if line.strip()]
    errors = [line for line in lines if " error: " in line or line.startswith("textsiam: error:")]
    if "Traceback" in answer.err or answer.code not in (0, 2):
        return FAILURE, f"exit {answer.code}: {answer.err[-400:]}"
    if case.error is None:
        ok = answer.code == 0 and not errors and case.check(answer, world)
        return (CORRECT, "checked") if ok else (FAILURE, f"exit {answer.code}, wrong output: {answer.err[-300:]}")
    if answer.code == 2 and len(errors) == 1 and case.error.format(**world) in errors[0]:
        return CLEAR, errors[0]
    return FAILURE, f"exit {answer.code}; expected one error line naming {case.error!r}, got: {answer.err[-400:]}"


# -- the world: small files written once ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tiny_bert_dir, tmp_path_factory) -> dict:
    from tests.helpers.fixtures import write_images

    root = tmp_path_factory.mktemp("fuzz")
    pairs = root / "pairs.tsv"
    rows = [("a dog runs", "a dog is running", 1), ("a red car", "the cat eats food", 0)] * 6
    pairs.write_text("text_a\ttext_b\tlabel\n" + "".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows))
    (root / "latin1.txt").write_bytes("a dog\ncaf\xe9 au lait\n".encode("latin-1"))
    (root / "latin1.tsv").write_bytes("text_a\ttext_b\tlabel\ncaf\xe9\tx\t1\n".encode("latin-1"))
    (root / "texts.txt").write_text("a dog runs\nthe cat eats\na red car\n")
    (root / "gap.txt").write_text("a dog\n\na cat\n")
    (root / "badlabel.tsv").write_text("text_a\ttext_b\tlabel\na\tb\tmaybe\n")
    (root / "graded.tsv").write_text("text_a\ttext_b\tlabel\na dog\ta cat\t0.5\na car\ta man\t0.25\n")
    image = write_images(root / "imgs", 1, (8, 8))[0]
    (root / "docs").mkdir()
    (root / "docs" / "notes.txt").write_text("x")
    model = textsiam.create_model(str(tiny_bert_dir))
    model.save(root / "run")  # a folder holding a model: a run to refuse to replace
    (root / "mine").mkdir()
    model.save(root / "mine")
    (root / "mine" / "notes.md").write_text("the user's")
    (root / "badstate" / "checkpoint").mkdir(parents=True)
    (root / "badstate" / "checkpoint" / "state.json").write_text("not json {")
    textsiam.create_model(str(tiny_bert_dir), projection_dim=16).save(root / "mismatch")
    config = json.loads((root / "mismatch" / "config.json").read_text())
    (root / "mismatch" / "config.json").write_text(json.dumps({**config, "projection_dim": 8}))
    names = ("pairs", "run", "mine", "badstate", "mismatch", "badlabel", "graded")
    paths = {name: str(root / name) for name in names} | {"pairs": str(pairs)}
    paths |= {"badlabel": str(root / "badlabel.tsv"), "graded": str(root / "graded.tsv")}
    return {**paths, "tiny": str(tiny_bert_dir), "image": image, "root": str(root), "model": model}


def _float_line(answer: CliAnswer, world: dict) -> bool:
    value = float(answer.out.split("score: ")[1].split()[0])
    return -1.0 <= value <= 1.0


def _scored_tsv(answer: CliAnswer, world: dict) -> bool:
    lines = Path(world["root"], "scored.tsv").read_text().splitlines()
    return lines[0] == "text_a\ttext_b\tlabel\tscore" and len(lines) == 13


def _npy(answer: CliAnswer, world: dict) -> bool:
    return np.load(Path(world["root"], "e.npy")).shape == (3, 32)


def _hits(answer: CliAnswer, world: dict) -> bool:
    results = [json.loads(line) for line in Path(world["root"], "hits.jsonl").read_text().splitlines()]
    return len(results) == 3 and all(r["results"][0]["id"] == r["query_id"] for r in results)  # itself is first


def _decision(world: dict) -> dict:
    return json.loads(Path(world["root"], "t", "decision.json").read_text())


def _metrics(answer: CliAnswer, world: dict) -> bool:
    return "roc_auc" in answer.out


def _same_as_lists(call: str, wrap: Callable) -> Case:
    """``model.call(wrap(a), wrap(b))`` must equal the answer for plain lists."""
    a, b = ["a dog runs", "a red car"], ["a dog is running", "the cat eats"]

    def run(world):
        model = world["model"]
        args = (wrap(a),) if call == "encode" else (wrap(a), wrap(b))
        got = getattr(model, call)(*args)
        want = getattr(model, call)(*((a,) if call == "encode" else (a, b)))
        return np.allclose(np.asarray(got), np.asarray(want), atol=1e-6)

    return Case(f"model.{call}({wrap.__name__}(...))", run, check=lambda ok, world: ok)


def series(x):
    return pytest.importorskip("pandas").Series(x)


def array(x):
    return np.array(x)


def _api_error(name: str, fn: Callable[[dict], Any], error: str) -> Case:
    return Case(name, fn, error=error)


TRAIN = ("train", "--model", "{tiny}", "--train", "{pairs}", "--epochs", "1", "--quiet")
CASES = [
    # -- CLI: train ------------------------------------------------------------------------------------------------
    Case("train --seed -1", cli(*TRAIN, "--out", "{root}/s1", "--seed", "-1"), "got -1"),
    Case("train --seed 2**70", cli(*TRAIN, "--out", "{root}/s2", "--seed", str(2**70)), f"got {2**70}"),
    Case("train --seed abc", cli(*TRAIN, "--out", "{root}/s3", "--seed", "abc"), "invalid int value: 'abc'"),
    Case("train --out a folder holding a run", cli(*TRAIN, "--out", "{run}"), "already holds a textsiam run"),
    Case("train --overwrite, folder with the user's files", cli(*TRAIN, "--out", "{mine}", "--overwrite"), "notes.md"),
    Case("train --resume --overwrite", cli(*TRAIN, "--out", "{run}", "--resume", "--overwrite"), "not both"),
    Case(
        "train --dev + --dev-fraction",
        cli(*TRAIN, "--out", "{root}/d", "--dev", "{pairs}", "--dev-fraction", "0.3"),
        "dev pairs given twice",
    ),
    Case("train --dev-fraction 1.5", cli(*TRAIN, "--out", "{root}/d", "--dev-fraction", "1.5"), "got 1.5"),
    Case("train --epochs 0", cli(*TRAIN, "--out", "{root}/d", "--epochs", "0"), "epochs must be a positive integer"),
    Case("train --lr nan", cli(*TRAIN, "--out", "{root}/d", "--lr", "nan"), "lr"),
    Case("train --loss nope", cli(*TRAIN, "--out", "{root}/d", "--loss", "nope"), "'nope'"),
    Case(
        "train --train missing",
        cli("train", "--model", "{tiny}", "--train", "{root}/no.tsv", "--out", "{root}/d"),
        "no.tsv",
    ),
    Case("train --resume without a checkpoint", cli(*TRAIN, "--out", "{root}/fresh", "--resume"), "nothing to resume"),
    Case("train --resume, state.json not JSON", cli(*TRAIN, "--out", "{badstate}", "--resume"), "not valid JSON"),
    Case(
        "train --train latin-1",
        cli("train", "--model", "{tiny}", "--train", "{root}/latin1.tsv", "--out", "{root}/d"),
        "not valid UTF-8",
    ),
    Case(
        "train --threshold-strategy without dev",
        cli(*TRAIN, "--out", "{root}/d", "--threshold-strategy", "youden"),
        "needs dev pairs",
    ),
    # -- CLI: score, evaluate, tune-threshold -----------------------------------------------------------------------
    Case("score --a --b", cli("score", "--model", "{tiny}", "--a", "a dog", "--b", "a cat"), check=_float_line),
    Case("score --a only", cli("score", "--model", "{tiny}", "--a", "a dog"), "--b"),
    Case("score --a ''", cli("score", "--model", "{tiny}", "--a", "", "--b", "x"), "empty"),
    Case(
        "score --pairs --out new",
        cli("score", "--model", "{tiny}", "--pairs", "{pairs}", "--out", "{root}/scored.tsv"),
        check=_scored_tsv,
    ),
    Case(
        "score --pairs X --out X",
        cli("score", "--model", "{tiny}", "--pairs", "{pairs}", "--out", "{pairs}"),
        "is the --pairs file itself",
    ),
    Case("score --pairs missing", cli("score", "--model", "{tiny}", "--pairs", "{root}/no.tsv"), "no.tsv"),
    Case("score --batch-size 0", cli("score", "--model", "{tiny}", "--pairs", "{pairs}", "--batch-size", "0"), "0"),
    Case(
        "score --image (text model)",
        cli("score", "--model", "{tiny}", "--image", "{image}", "--text", "a dog"),
        "(hf-transformer) reads texts",
    ),
    Case(
        "score --image-dir (text model)",
        cli("score", "--model", "{tiny}", "--image-dir", "{root}/imgs", "--text", "x"),
        "(hf-transformer) reads texts",
    ),
    Case(
        "score --image-dir missing",
        cli("score", "--model", "{tiny}", "--image-dir", "{root}/nope", "--text", "x"),
        "no such folder",
    ),
    Case(
        "score --image-dir, no images",
        cli("score", "--model", "{tiny}", "--image-dir", "{root}/docs", "--text", "x"),
        "notes.txt",
    ),
    Case(
        "score --a-file latin-1",
        cli("score", "--model", "{tiny}", "--a-file", "{root}/latin1.txt", "--b", "x"),
        "not valid UTF-8",
    ),
    Case("score --model missing", cli("score", "--model", "{root}/nomodel", "--a", "x", "--b", "y"), "nomodel"),
    Case("score --model size mismatch", cli("score", "--model", "{mismatch}", "--a", "x", "--b", "y"), "[16, 32]"),
    Case("serve --model size mismatch", cli("serve", "--model", "{mismatch}", "--port", "1"), "[16, 32]"),
    Case("score --device tpu", cli("score", "--model", "{tiny}", "--a", "x", "--b", "y", "--device", "tpu"), "'tpu'"),
    Case("evaluate", cli("evaluate", "--model", "{tiny}", "--data", "{pairs}", "--quiet"), check=_metrics),
    Case("evaluate, bad label", cli("evaluate", "--model", "{tiny}", "--data", "{badlabel}"), "maybe"),
    Case("evaluate --limit -1", cli("evaluate", "--model", "{tiny}", "--data", "{pairs}", "--limit", "-1"), "-1"),
    Case(
        "tune-threshold --seed -1",
        cli("tune-threshold", "--model", "{tiny}", "--data", "{pairs}", "--seed", "-1"),
        "got -1",
    ),
    Case(
        "tune-threshold graded",
        cli("tune-threshold", "--model", "{tiny}", "--data", "{graded}", "--out", "{root}/t"),
        "binary",
    ),
    Case(
        "tune-threshold --cv 1 (in-sample, and says so)",
        cli("tune-threshold", "--model", "{tiny}", "--data", "{pairs}", "--cv", "1", "--out", "{root}/t"),
        check=lambda a, w: "in-sample" in a.out and _decision(w)["metrics"]["evaluation"] == "in-sample",
    ),
    # -- CLI: encode, search, list ----------------------------------------------------------------------------------
    Case(
        "encode",
        cli("encode", "--model", "{tiny}", "--input", "{root}/texts.txt", "--output", "{root}/e.npy", "--quiet"),
        check=_npy,
    ),
    Case(
        "encode latin-1",
        cli("encode", "--model", "{tiny}", "--input", "{root}/latin1.txt", "--output", "{root}/x.npy"),
        "line 2 is not valid UTF-8",
    ),
    Case(
        "encode empty line",
        cli("encode", "--model", "{tiny}", "--input", "{root}/gap.txt", "--output", "{root}/x.npy"),
        "row 1",
    ),
    Case(
        "encode --output .txt",
        cli("encode", "--model", "{tiny}", "--input", "{root}/texts.txt", "--output", "{root}/x.txt"),
        "x.txt",
    ),
    Case(
        "search",
        cli(
            "search",
            "--model",
            "{tiny}",
            "--queries",
            "{root}/texts.txt",
            "--corpus",
            "{root}/texts.txt",
            "--top-k",
            "2",
            "--output",
            "{root}/hits.jsonl",
            "--quiet",
        ),
        check=_hits,
    ),
    Case(
        "search --top-k 0",
        cli(
            "search",
            "--model",
            "{tiny}",
            "--queries",
            "{root}/texts.txt",
            "--corpus",
            "{root}/texts.txt",
            "--top-k",
            "0",
            "--output",
            "{root}/h0.jsonl",
        ),
        "got 0",
    ),
    Case("list nope", cli("list", "nope"), "nope"),
    # -- Python API -------------------------------------------------------------------------------------------------
    _same_as_lists("similarity_scores", array),
    _same_as_lists("similarity_scores", series),
    _same_as_lists("encode", array),
    _same_as_lists("encode", series),
    _same_as_lists("similarity_scores", tuple),
    _api_error("similarity_scores(dict, dict)", lambda w: w["model"].similarity_scores({"a": 1}, {"b": 2}), "dict"),
    _api_error("similarity_scores('a', 'b')", lambda w: w["model"].similarity_scores("a dog", "b"), "'a dog'"),
    _api_error("similarity_scores([None], ['x'])", lambda w: w["model"].similarity_scores([None], ["x"]), "None"),
    _api_error("similarity_scores(2 vs 1)", lambda w: w["model"].similarity_scores(["a", "b"], ["c"]), "2 and 1"),
    _api_error("predict(['\\ud800'])", lambda w: w["model"].similarity_scores(["a\ud800"], ["x"]), "lone surrogate"),
    _api_error("predict without a decision", lambda w: w["model"].predict(["a"], ["b"]), "tune-threshold"),
    _api_error("encode(generator)", lambda w: w["model"].encode(t for t in ["a"]), "generator"),
    _api_error("encode(DataFrame)", lambda w: w["model"].encode(series(["a"]).to_frame()), "DataFrame"),
    _api_error("encode(batch_size=0)", lambda w: w["model"].encode(["a"], batch_size=0), "got 0"),
    Case("encode([])", lambda w: w["model"].encode([]), check=lambda r, w: tuple(r.shape) == (0, 32)),
    _api_error("search(model, 'dog', corpus)", lambda w: textsiam.search(w["model"], "dog", ["a dog"]), "'dog'"),
    _api_error("search(..., corpus=dict)", lambda w: textsiam.search(w["model"], ["dog"], {"a dog": 1}), "dict"),
    _api_error("search(..., corpus=[])", lambda w: textsiam.search(w["model"], ["dog"], []), "no texts"),
    _api_error("search(top_k=0)", lambda w: textsiam.search(w["model"], ["dog"], ["a dog"], top_k=0), "got 0"),
    _api_error("search(top_k=2.5)", lambda w: textsiam.search(w["model"], ["dog"], ["a dog"], top_k=2.5), "2.5"),
    Case(
        "search(['dog'], 3 texts, top_k=2)",
        lambda w: textsiam.search(w["model"], ["dog"], ["a", "b", "c"], top_k=2),
        check=lambda r, w: len(r) == 1 and len(r[0]) == 2 and r[0][0]["score"] >= r[0][1]["score"],
    ),
    _api_error("read_pairs(latin-1)", lambda w: textsiam.read_pairs(w["root"] + "/latin1.tsv"), "not valid UTF-8"),
    _api_error("read_pairs(missing)", lambda w: textsiam.read_pairs(w["root"] + "/no.tsv"), "no.tsv"),
    Case("read_pairs", lambda w: textsiam.read_pairs(w["pairs"]), check=lambda r, w: len(r) == 12),
    _api_error("load(size mismatch)", lambda w: textsiam.load(w["mismatch"]), "[16, 32]"),
    _api_error("load(missing)", lambda w: textsiam.load(w["root"] + "/nomodel"), "nomodel"),
    _api_error("create_model('nope')", lambda w: textsiam.create_model("nope-preset"), "nope-preset"),
    _api_error("fit(seed=-1)", lambda w: textsiam.fit(w["pairs"], w["root"] + "/f", model=w["tiny"], seed=-1), "-1"),
    _api_error("fit(out=a run)", lambda w: textsiam.fit(w["pairs"], w["run"], model=w["tiny"]), "--overwrite"),
    _api_error(
        "fit(dev=, dev_fraction=)",
        lambda w: textsiam.fit(w["pairs"], w["root"] + "/f", model=w["tiny"], dev=w["pairs"], dev_fraction=0.5),
        "given twice",
    ),
    _api_error(
        "fit(epochs='x')", lambda w: textsiam.fit(w["pairs"], w["root"] + "/f", model=w["tiny"], epochs="x"), "'x'"
    ),
    Case(
        "evaluate(model, pairs)",
        lambda w: textsiam.evaluate(w["model"], w["pairs"])[0],
        check=lambda m, w: 0.0 <= m["roc_auc"] <= 1.0,
    ),
    _api_error("evaluate(model, missing)", lambda w: textsiam.evaluate(w["model"], w["root"] + "/no.tsv"), "no.tsv"),
    _api_error(
        "score_file(out=pairs)",
        lambda w: textsiam.score_file(w["model"], w["pairs"], out=w["pairs"]),
        "--pairs file itself",
    ),
    Case(
        "score_file(out=new)",
        lambda w: textsiam.score_file(w["model"], w["pairs"], out=w["root"] + "/s2.tsv"),
        check=lambda n, w: n == 12 and len(Path(w["root"], "s2.tsv").read_text().splitlines()) == 13,
    ),
    _api_error(
        "tune_threshold(strategy='nope')",
        lambda w: textsiam.tune_threshold(w["model"], w["pairs"], strategy="nope"),
        "'nope'",
    ),
    _api_error(
        "rank(model, q, 'a string')", lambda w: __import__("textsiam.api").api.rank(w["model"], "q", "abc"), "'abc'"
    ),
    Case(
        "rank(model, q, [a, b])",
        lambda w: __import__("textsiam.api").api.rank(w["model"], "a dog", ["a", "a dog"]),
        check=lambda r, w: sorted(i for i, _ in r) == [0, 1],
    ),
]


def test_every_case_is_a_clear_error_or_a_correct_result(world, capsys):
    results = [(case, *classify(case, world)) for case in CASES]
    counts = Counter(kind for _, kind, _ in results)
    failures = [f"{case.name}: {what}" for case, kind, what in results if kind == FAILURE]
    with capsys.disabled():
        print(
            f"\nCLI/API fuzz harness: {len(results)} cases: "
            + ", ".join(f"{counts[k]} {k}" for k in (CLEAR, CORRECT, FAILURE))
        )
    assert not failures, f"{len(failures)} failure(s) of {len(results)} ({dict(counts)}):\n" + "\n".join(failures)


# -- a property over text lists: any list-like of odd texts is scored like the list, or a clear error ------------------
hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a test dependency (pip install '.[dev]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TEXT = st.one_of(
    st.text(min_size=0, max_size=12),  # any code point, lone surrogates, controls and empty texts included
    st.sampled_from(["a dog runs", "  ", "\x00", "é", "\ud800", "a\u2028b", "🙂" * 3]),
    st.none(),
)
WRAPS = {"list": list, "tuple": tuple, "numpy": lambda x: np.array(x, dtype=object), "series": series}


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(a=st.lists(TEXT, min_size=0, max_size=4), wrap=st.sampled_from(sorted(WRAPS)))
def _odd_text_lists(world, seen, a, wrap):
    model, b = world["model"], ["a cat"] * len(a)
    try:
        wrapped = WRAPS[wrap](a), WRAPS[wrap](b)
    except UnicodeEncodeError:  # pandas' arrow strings cannot hold a lone surrogate: no Series to give textsiam
        hypothesis.assume(False)

    def run(_):
        return model.similarity_scores(*wrapped), model.similarity_scores(list(a), b)

    def same(result, _):
        got, want = result
        return got.shape == (len(a),) and bool(np.isfinite(got).all()) and np.allclose(got, want, atol=1e-6)

    bad = [i for i, t in enumerate(a) if not isinstance(t, str) or not t.strip() or _unencodable(t)]
    kind, what = classify(Case(f"similarity_scores({wrap}({a!r}))", run, "item " if bad else None, same), world)
    if kind == CLEAR:  # the item it names must be one of the bad ones
        named = int(re.search(r"item (\d+)", what).group(1))
        kind, what = (CLEAR, what) if named in bad else (FAILURE, f"names item {named}, bad are {bad}: {what}")
    seen[kind] += 1
    assert kind != FAILURE, what


def test_odd_text_lists_are_scored_like_lists_or_a_clear_error(world, capsys):
    seen: Counter = Counter()
    _odd_text_lists(world, seen)  # hypothesis draws a and wrap
    with capsys.disabled():
        counts = f"{seen[CLEAR]} {CLEAR}, {seen[CORRECT]} {CORRECT}"
        print(f"\nsimilarity_scores property: {sum(seen.values())} examples: {counts}")


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
