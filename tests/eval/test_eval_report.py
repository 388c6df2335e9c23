"""HTML report: self-contained (embedded PNGs, no scripts, no external URLs), escaped texts, optional sections."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from textsiam.errors import DataError
from textsiam.eval.decision import Decision, fit_decision
from textsiam.eval.report import write_report

_DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _binary(n=200, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    return np.round(np.tanh(labels + rng.normal(scale=0.7, size=n)), 2), labels


def _write_log(path):
    lines = [{"type": "step", "epoch": 1, "step": s, "loss": 1.0 / s, "lr": 1e-4} for s in range(1, 30)]
    lines += [{"type": "eval", "epoch": e, "step": 10 * e, "metrics": {"spearman": 0.5 + e / 10}} for e in (1, 2, 3)]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def _assert_self_contained(html: str, min_images: int) -> list[bytes]:
    images = [base64.b64decode(m) for m in _DATA_URI.findall(html)]
    assert len(images) >= min_images
    assert all(img.startswith(b"\x89PNG\r\n\x1a\n") for img in images)
    rest = _DATA_URI.sub("", html)
    assert "src=" not in rest and "href" not in rest and "url(" not in rest
    assert "http" not in rest.lower() and "<script" not in rest.lower()
    return images


@pytest.mark.parametrize("calibrate", [None, "isotonic"])
@pytest.mark.parametrize("with_log", [False, True])
def test_binary_report(tmp_path, calibrate, with_log):
    scores, labels = _binary()
    decision = fit_decision(scores, labels, "max-accuracy", calibrate=calibrate)
    log = _write_log(tmp_path / "log.jsonl") if with_log else None
    path = write_report(tmp_path / "out", scores, labels, graded=False, decision=decision, train_log=log)
    html = path.read_text()
    expected = {"roc", "pr", "histogram", "confusion", "threshold_metrics"}
    expected |= {"reliability"} if calibrate else set()
    expected |= {"training_loss", "training_eval"} if with_log else set()
    assert {p.stem for p in (tmp_path / "out").glob("*.png")} == expected
    _assert_self_contained(html, len(expected))
    assert ("Reliability" in html) == bool(calibrate) and ("Training" in html) == with_log
    assert f"{decision.threshold:.4f}" in html


def test_binary_report_without_decision_says_threshold_is_optimistic(tmp_path):
    scores, labels = _binary(seed=1)
    html = write_report(tmp_path, scores, labels, graded=False).read_text()
    assert "optimistic" in html
    _assert_self_contained(html, 5)


@pytest.mark.parametrize("with_log", [False, True])
def test_graded_report(tmp_path, with_log):
    rng = np.random.default_rng(2)
    gold = rng.uniform(0, 5, 150)
    scores = gold / 5 + rng.normal(scale=0.2, size=150)
    log = _write_log(tmp_path / "log.jsonl") if with_log else None
    html = write_report(tmp_path / "out", scores, gold, graded=True, train_log=log, title="STS <dev>").read_text()
    _assert_self_contained(html, 3 if with_log else 1)
    assert "spearman" in html and "STS &lt;dev&gt;" in html
    assert (tmp_path / "out" / "scatter.png").is_file()


def test_errors_table_escapes_texts(tmp_path):
    scores, labels = _binary(seed=3)
    evil = ['<script>alert("x")</script> & <img src="http://bad.example/x.png">'] * len(scores)
    html = write_report(tmp_path, scores, labels, graded=False, texts_a=evil, texts_b=evil).read_text()
    assert "<script>" not in html and '<img src="http' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in html
    assert "False positives" in html and "False negatives" in html


def test_errors_table_lists_most_confident_errors_first(tmp_path):
    scores = np.array([0.95, 0.9, 0.85, 0.2, 0.1, 0.05, 0.6, 0.4])
    labels = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    texts = [f"row-{i}-text" for i in range(8)]
    decision = Decision(strategy="manual", threshold=0.5)
    html = write_report(tmp_path, scores, labels, graded=False, decision=decision, texts_a=texts).read_text()
    fp, fn = html.split("False negatives")
    assert fp.index("row-0-text") < fp.index("row-1-text")  # the highest-scoring non-match comes first
    assert fn.index("row-4-text") < fn.index("row-3-text")  # the lowest-scoring match comes first


def test_missing_log_is_noted_and_bad_log_is_an_error(tmp_path):
    scores, labels = _binary(seed=4)
    html = write_report(tmp_path / "a", scores, labels, graded=False, train_log=tmp_path / "nope.jsonl").read_text()
    assert "Training log not found" in html
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "step", "step": 1, "loss": 0.5}\n{oops\n')
    with pytest.raises(DataError, match="row 2"):
        write_report(tmp_path / "b", scores, labels, graded=False, train_log=bad)


def test_texts_must_match_scores(tmp_path):
    scores, labels = _binary(seed=5)
    with pytest.raises(ValueError, match="one text per score"):
        write_report(tmp_path, scores, labels, graded=False, texts_a=["a"])


def test_train_log_curves_leave_out_counts(tmp_path):
    from textsiam.eval.train_log import read_train_log

    log = tmp_path / "train_log.jsonl"
    log.write_text(
        '{"type": "step", "epoch": 1, "step": 5, "loss": 0.4}\n'
        '{"type": "eval", "epoch": 1, "step": 5, "metrics": {"n": 407, "roc_auc": 0.84, "tp": 200}}\n'
        '{"type": "eval", "epoch": 2, "step": 10, "metrics": {"n": 407, "roc_auc": 0.86, "tp": 210}}\n'
    )
    parsed = read_train_log(log)
    assert set(parsed["evals"]) == {"roc_auc"} and parsed["evals"]["roc_auc"] == ([1.0, 2.0], [0.84, 0.86])


def test_class_section_comes_before_the_errors_with_its_confusion_heatmap(tmp_path):
    from textsiam.eval.classes import class_report

    scores, labels = _binary(n=8, seed=4)
    gold = ["unrelated", "discuss", "agree", "disagree", "unrelated", "agree", "discuss", "unrelated"]
    pred = ["unrelated", "agree", "agree", "discuss", "discuss", "agree", "discuss", "unrelated"]
    classes = class_report(gold, pred, ["unrelated", "discuss", "agree", "disagree"])
    body = "A long news body. " * 100  # 1,800 characters: cut in the errors table
    html = write_report(
        tmp_path, scores, labels, graded=False, texts_a=["headline"] * 8, texts_b=[body] * 8, classes=classes
    ).read_text()
    assert html.index("Classes (multi-class head)") < html.index("Most confident errors")
    assert (tmp_path / "class_confusion.png").read_bytes().startswith(b"\x89PNG")
    assert "gold disagree" in html and "fnc_relative" in html
    assert body not in html and "[1,800 characters]" in html
