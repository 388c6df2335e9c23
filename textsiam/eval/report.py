"""A self-contained HTML evaluation report: metrics tables, plots embedded as base64 PNGs, the most confident errors.

The page has inline CSS only: no scripts, no external URLs, so it opens offline and can be mailed as one file. Each
plot is also written next to it as a PNG.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from textsiam.atomic import atomic_write, atomic_write_text, make_folder
from textsiam.errors import DataError
from textsiam.eval import plots
from textsiam.eval.calibration import brier_score, expected_calibration_error, reliability_curve
from textsiam.eval.decision import Decision
from textsiam.eval.metrics import binary_metrics, check_binary_labels, check_scores, graded_metrics
from textsiam.eval.report_training import training_section
from textsiam.eval.retrieval_report import retrieval_figures
from textsiam.eval.threshold import select_threshold, threshold_candidates

__all__ = ["write_report"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .2em; }
h2 { margin-top: 1.6em; color: #1f4e79; }
table { border-collapse: collapse; margin: .6em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { max-width: 420px; word-wrap: break-word; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; } img { max-width: 100%; border: 1px solid #eee; }
p.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em .8em; }
"""
_TOP_ERRORS = 10
_TEXT_CHARS = 300


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or isinstance(value, int | np.integer):
        return str(value)
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _table(rows: list[tuple], header: tuple | None = None) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>" if header else ""
    body = []
    for row in rows:
        cells = []
        for cell in row:
            cls = "num" if isinstance(cell, int | float | np.number) and not isinstance(cell, bool) else "text"
            cells.append(f'<td class="{cls}">{html.escape(_fmt(cell))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


class _Page:
    """Collects HTML sections; each image is written as ``out_dir/<name>.png`` and embedded as a data URI."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir, self.sections = out_dir, []

    def add(self, heading: str, *parts: str) -> None:
        self.sections.append(f"<h2>{html.escape(heading)}</h2>" + "".join(parts))

    def image(self, name: str, png: bytes, caption: str) -> str:
        atomic_write(self.out_dir / f"{name}.png", lambda tmp: Path(tmp).write_bytes(png))
        data = base64.b64encode(png).decode("ascii")
        alt = html.escape(caption)
        return f'<figure><img alt="{alt}" title="{alt}" src="data:image/png;base64,{data}"></figure>'


def _class_section(page: _Page, m: dict) -> None:
    names = m["confusion_matrix"]["classes"]
    per_class = [(c, v["precision"], v["recall"], v["f1"], v["support"]) for c, v in m["per_class"].items()]
    summary = [(k, m[k]) for k in ("class_accuracy", "macro_f1", "fnc_relative") if k in m]
    matrix = [(f"gold {c}", *row) for c, row in zip(names, m["confusion_matrix"]["rows_gold_cols_predicted"])]
    page.add(
        "Classes (multi-class head)",
        _table(summary, ("metric", "value")),
        _table(per_class, ("class", "precision", "recall", "F1", "support")),
        "<p>Confusion matrix: rows are gold classes, columns predicted.</p>",
        _table(matrix, ("", *(f"pred {c}" for c in names))),
        page.image(
            "class_confusion",
            plots.matrix_png(m["confusion_matrix"]["rows_gold_cols_predicted"], names, "Class confusion matrix"),
            "Class confusion matrix",
        ),
    )


def _check_texts(texts, n: int, name: str) -> list[str] | None:
    if texts is None:
        return None
    texts = [str(t) for t in texts]
    if len(texts) != n:
        raise DataError(f"{name} must have one text per score, got {len(texts)} texts for {n} scores")
    return texts


def _shorten(text: str) -> str:
    """A long text (a news body) cut to its first ``_TEXT_CHARS`` characters, saying how long it was."""
    if len(text) <= _TEXT_CHARS:
        return text
    return f"{text[:_TEXT_CHARS].rstrip()} ... [{len(text):,} characters]"


def _errors_table(s, y, threshold, texts_a, texts_b, which: str) -> str:
    pred = s >= threshold
    if which == "fp":  # non-matches the model is most sure are matches
        idx = np.flatnonzero(pred & (y == 0))
        idx = idx[np.argsort(-s[idx], kind="stable")][:_TOP_ERRORS]
    else:  # matches the model is most sure are not
        idx = np.flatnonzero(~pred & (y == 1))
        idx = idx[np.argsort(s[idx], kind="stable")][:_TOP_ERRORS]
    if idx.size == 0:
        return "<p>None.</p>"
    header = ("pair", "score") + (("text a",) if texts_a else ()) + (("text b",) if texts_b else ())
    rows = [(int(i), float(s[i]), *(_shorten(t[i]) for t in (texts_a, texts_b) if t)) for i in idx]
    return _table(rows, header)


def _decision_rows(decision: Decision) -> list[tuple]:
    rows = [("strategy", decision.strategy), ("target", decision.target), ("threshold", decision.threshold)]
    rows.append(("score", decision.score))
    rows.append(("calibrator", decision.calibrator["name"] if decision.calibrator else None))
    for key in ("file", "rows", "sha256"):
        rows.append((f"tuned on: {key}", (decision.data or {}).get(key)))
    stored = {k: v for k, v in decision.metrics.items() if not isinstance(v, dict)}
    rows += [(f"stored metric: {k}", v) for k, v in stored.items()]
    return rows


def _binary_sections(page: _Page, s, labels, decision: Decision | None) -> tuple[np.ndarray, float]:
    """Metrics and plots; returns the 0/1 labels and the threshold the errors are listed at."""
    y = check_binary_labels(labels, s.shape[0])
    if decision is None:
        threshold = select_threshold(s, y, "youden").threshold
        note = "No decision was given: the threshold maximises Youden's J on this very data, so metrics are optimistic."
    else:
        threshold = decision.threshold
        note = f"Threshold from the saved decision ({decision.strategy}); metrics below are measured on this data."
    m = binary_metrics(s, y, threshold)
    if decision is not None and decision.calibrator is not None:
        probs = decision.predict_proba(s)
        m["brier"], m["ece"] = brier_score(probs, y), expected_calibration_error(probs, y)
    tables = _table(list(m.items()), ("metric on this data", "value"))
    if decision is not None:
        tables += _table(_decision_rows(decision), ("saved decision", "value"))
    page.add("Metrics", f'<p class="note">{html.escape(note)}</p><div class="grid">{tables}</div>')
    fpr, tpr, _ = roc_curve(y, s)
    precision, recall, _ = precision_recall_curve(y, s)
    figures = [
        page.image("roc", plots.roc_png(fpr, tpr, m["roc_auc"], (m["fpr"], m["tpr"])), "ROC curve"),
        page.image(
            "pr",
            plots.pr_png(recall, precision, m["average_precision"], float(y.mean()), (m["recall"], m["precision"])),
            "Precision-recall curve",
        ),
        page.image("histogram", plots.histogram_png(s, y, threshold), "Score histograms per class"),
        page.image("confusion", plots.confusion_png(m["tp"], m["fp"], m["tn"], m["fn"]), "Confusion matrix"),
        page.image(
            "threshold_metrics",
            plots.threshold_metrics_png(threshold_candidates(s, y), threshold),
            "Metrics vs threshold",
        ),
    ]
    if decision is not None and decision.calibrator is not None:
        curve = reliability_curve(probs, y)
        figures.append(page.image("reliability", plots.reliability_png(curve, m["brier"], m["ece"]), "Reliability"))
    page.add("Plots", f'<div class="grid">{"".join(figures)}</div>')
    return y, threshold


def _errors_section(page: _Page, s, y, threshold: float, texts_a, texts_b) -> None:
    page.add(
        "Most confident errors",
        f"<h3>False positives (highest scores among non-matches, top {_TOP_ERRORS})</h3>",
        _errors_table(s, y, threshold, texts_a, texts_b, "fp"),
        f"<h3>False negatives (lowest scores among matches, top {_TOP_ERRORS})</h3>",
        _errors_table(s, y, threshold, texts_a, texts_b, "fn"),
    )


_GRID_EACH = 8


def _pair_grid_section(page: _Page, s, labels, decision, images_a, images_b, texts_b, score_name) -> None:
    """The seed's picture: test pairs with their distance and decision, right ones and wrong ones."""
    from textsiam.imaging import load_image

    y = check_binary_labels(labels, s.shape[0])
    threshold = decision.threshold if decision is not None else select_threshold(s, y, "youden").threshold
    pred = s >= threshold
    distance = score_name in ("euclidean", "manhattan")
    rng = np.random.default_rng(0)
    right, wrong = np.flatnonzero(pred == (y == 1)), np.flatnonzero(pred != (y == 1))
    picked = [*rng.permutation(right)[:_GRID_EACH], *rng.permutation(wrong)[:_GRID_EACH]]
    cells = []
    for i in picked:
        value = f"d={-s[i]:.3f}" if distance else f"score={s[i]:.3f}"
        verdict = "same" if pred[i] else "different"
        cells.append(
            {
                "a": load_image(images_a[i]),
                "b": load_image(images_b[i]) if images_b is not None else None,
                "text": texts_b[i] if texts_b is not None else None,
                "label": f"{value} -> {verdict}" + ("" if pred[i] == (y[i] == 1) else " (wrong)"),
                "correct": bool(pred[i] == (y[i] == 1)),
            }
        )
    rule = f"distance < {-threshold:.4g}" if distance else f"score >= {threshold:.4g}"
    note = f"{len(right)} right and {len(wrong)} wrong decisions at {rule}; up to {_GRID_EACH} random ones of each."
    page.add("Test pairs", f"<p>{html.escape(note)}</p>", page.image("pair_grid", plots.pair_grid_png(cells), note))


def _graded_sections(page: _Page, s, labels) -> None:
    gold = check_scores(labels, "gold")
    m = graded_metrics(s, gold)
    page.add("Metrics", _table(list(m.items()), ("metric", "value")))
    png = plots.scatter_png(s, gold, m["spearman"], m["pearson"])
    page.add("Plots", page.image("scatter", png, "Predicted vs gold similarity"))


def write_report(
    out_dir: str | Path,
    scores,
    labels,
    *,
    graded: bool,
    decision: Decision | None = None,
    texts_a=None,
    texts_b=None,
    train_log: str | Path | None = None,
    title: str = "textsiam report",
    images_a=None,
    images_b=None,
    score_name: str | None = None,
    classes: dict | None = None,
    retrieval: tuple | None = None,
) -> Path:
    """Write ``out_dir/report.html`` (self-contained) and its plots as PNGs; return the HTML path.

    ``graded=True``: ``labels`` are gold similarities, the report shows correlations and a scatter plot.
    ``graded=False``: ``labels`` are 0/1; the report shows ROC, PR, histograms, metrics vs threshold, the confusion
    matrix and the most confident errors at ``decision.threshold`` (or at the Youden threshold when no decision).
    ``images_a`` (and ``images_b``, or ``texts_b`` for captions): image references of the pairs; binary reports then
    show a grid of right and wrong pair decisions with their distance (``score_name`` euclidean/manhattan) or score.
    ``classes``: the output of :func:`textsiam.eval.classes.class_metrics` (plus an optional FNC score) for a
    multi-class head; the report then shows per-class precision/recall/F1 and the class confusion matrix.
    ``retrieval``: ``(scores (images, captions), image refs, captions, caption_image)`` of caption data: the report
    then shows what each side retrieves and recall@K (:mod:`textsiam.eval.retrieval_report`).
    """
    out_dir = Path(out_dir)
    make_folder(out_dir)
    s = check_scores(scores)
    texts_a, texts_b = _check_texts(texts_a, s.shape[0], "texts_a"), _check_texts(texts_b, s.shape[0], "texts_b")
    page = _Page(out_dir)
    if graded:
        _graded_sections(page, s, labels)
    else:
        y, threshold = _binary_sections(page, s, labels, decision)
    if classes is not None:  # a multi-class head's own result comes before the binary errors
        _class_section(page, classes)
    if not graded:
        _errors_section(page, s, y, threshold, texts_a, texts_b)
    if images_a is not None and not graded:
        _pair_grid_section(page, s, labels, decision, images_a, images_b, texts_b, score_name)
    if retrieval is not None:
        page.add("What the model retrieves", *(page.image(*f) for f in retrieval_figures(*retrieval)))
    if train_log is not None:
        training_section(page, Path(train_log))
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{s.shape[0]} pairs; higher score = more similar.</p>"
        + "\n".join(page.sections)
        + "</body></html>\n"
    )
    return atomic_write_text(out_dir / "report.html", doc)
