"""Report figures, each rendered to PNG bytes.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas directly, never through ``pyplot``: nothing is
registered in pyplot's global figure list (so nothing leaks or needs closing) and the caller's backend is untouched.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "confusion_png",
    "epoch_curves_png",
    "eval_curve_png",
    "pair_grid_png",
    "histogram_png",
    "loss_curve_png",
    "pr_png",
    "reliability_png",
    "roc_png",
    "scatter_png",
    "threshold_metrics_png",
]

_MATCH, _NON_MATCH, _MARK = "#1f77b4", "#ff7f0e", "#d62728"


def _axes(width: float = 6.0, height: float = 4.2) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})  # no tool URL inside the image
    return buf.getvalue()


def roc_png(fpr, tpr, auc: float, point: tuple[float, float] | None = None) -> bytes:
    """ROC curve with the chance diagonal and the chosen operating point (FPR, TPR)."""
    fig, ax = _axes(5.0, 4.6)
    ax.plot(fpr, tpr, color=_MATCH, lw=2, label=f"ROC (AUC = {auc:.4f})")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
    if point is not None:
        ax.scatter(
            [point[0]],
            [point[1]],
            color=_MARK,
            s=60,
            zorder=3,
            label=f"threshold (FPR {point[0]:.3f}, TPR {point[1]:.3f})",
        )
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        xlim=(-0.01, 1.01),
        ylim=(-0.01, 1.01),
        title="ROC curve",
    )
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def pr_png(recall, precision, ap: float, base_rate: float, point: tuple[float, float] | None = None) -> bytes:
    """Precision-recall curve, the no-skill line at the match rate, and the chosen point (recall, precision)."""
    fig, ax = _axes(5.0, 4.6)
    ax.step(recall, precision, where="post", color=_MATCH, lw=2, label=f"PR (AP = {ap:.4f})")
    ax.axhline(base_rate, color="grey", ls="--", lw=1, label=f"no skill ({base_rate:.3f})")
    if point is not None:
        ax.scatter([point[0]], [point[1]], color=_MARK, s=60, zorder=3, label="threshold")
    ax.set(xlabel="recall", ylabel="precision", xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), title="Precision-recall curve")
    ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def histogram_png(scores: np.ndarray, labels: np.ndarray, threshold: float) -> bytes:
    """Score distribution of matches and non-matches on shared bins, with the threshold line."""
    fig, ax = _axes()
    bins = np.histogram_bin_edges(np.r_[scores, threshold], bins=min(50, max(10, scores.shape[0] // 20)))
    ax.hist(scores[labels == 1], bins=bins, alpha=0.6, color=_MATCH, label=f"match (n={int(np.sum(labels == 1))})")
    ax.hist(
        scores[labels == 0], bins=bins, alpha=0.6, color=_NON_MATCH, label=f"non-match (n={int(np.sum(labels == 0))})"
    )
    ax.axvline(threshold, color=_MARK, lw=2, label=f"threshold {threshold:.4g}")
    ax.set(xlabel="similarity score", ylabel="pairs", title="Scores per class")
    ax.legend(fontsize=8)
    return _png(fig)


def threshold_metrics_png(candidates: dict, threshold: float) -> bytes:
    """Accuracy, F1, precision, recall (TPR) and FPR as functions of the threshold."""
    fig, ax = _axes(6.6, 4.2)
    t = candidates["threshold"]
    for name in ("accuracy", "f1", "precision", "recall", "fpr"):
        label = "recall / TPR" if name == "recall" else name
        ax.plot(t, candidates[name], lw=1.6, label=label, drawstyle="steps-mid")
    ax.axvline(threshold, color=_MARK, ls="--", lw=1.5, label=f"threshold {threshold:.4g}")
    span = t[1:-1] if t.shape[0] > 3 else t
    pad = 0.05 * (span.max() - span.min() or 1.0)
    ax.set(
        xlabel="threshold (match if score >= threshold)",
        ylabel="value",
        ylim=(-0.02, 1.02),
        title="Metrics vs threshold",
    )
    ax.set_xlim(span.min() - pad, span.max() + pad)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(fig)


def reliability_png(curve: dict, brier: float, ece: float) -> bytes:
    """Reliability diagram: observed match rate against mean predicted probability per bin."""
    fig, ax = _axes(5.0, 4.6)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfectly calibrated")
    ax.plot(curve["mean_predicted"], curve["fraction_positive"], marker="o", color=_MATCH, label="calibrator")
    ax.set(xlabel="mean predicted probability", ylabel="observed match rate", xlim=(0, 1), ylim=(0, 1))
    ax.set_title(f"Reliability (Brier {brier:.4f}, ECE {ece:.4f})")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def confusion_png(tp: int, fp: int, tn: int, fn: int) -> bytes:
    """2x2 confusion matrix at the threshold (rows: true class, columns: predicted)."""
    return matrix_png([[tn, fp], [fn, tp]], ["non-match", "match"], "Confusion matrix")


def matrix_png(cells, classes: list[str], title: str) -> bytes:
    """A confusion matrix of any size as a heatmap with its counts (rows: true class, columns: predicted)."""
    cells = np.asarray(cells)
    n = len(classes)
    fig, ax = _axes(max(4.2, 1.1 * n + 2), max(3.8, 1.0 * n + 1.6))
    ax.imshow(cells, cmap="Blues")
    for (r, c), v in np.ndenumerate(cells):
        ax.text(c, r, str(v), ha="center", va="center", fontsize=14, color="white" if v > cells.max() / 2 else "black")
    ax.set_xticks(range(n), classes)
    ax.set_yticks(range(n), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return _png(fig)


def scatter_png(scores: np.ndarray, gold: np.ndarray, spearman: float, pearson: float) -> bytes:
    """Predicted similarity against gold similarity, correlations in the title."""
    fig, ax = _axes(5.6, 4.8)
    ax.scatter(gold, scores, s=8, alpha=0.4, color=_MATCH, edgecolors="none")
    ax.set(xlabel="gold similarity", ylabel="predicted similarity")
    ax.set_title(f"Spearman {spearman:.4f}, Pearson {pearson:.4f}")
    return _png(fig)


def loss_curve_png(steps: list[float], losses: list[float]) -> bytes:
    """Training loss per logged step."""
    fig, ax = _axes(5.6, 3.8)
    ax.plot(steps, losses, color=_MATCH, lw=1.2)
    ax.set(xlabel="step", ylabel="loss", title="Training loss")
    return _png(fig)


def eval_curve_png(series: dict[str, tuple[list[float], list[float]]], xlabel: str) -> bytes:
    """Each dev metric (name -> (x, values)) per evaluation, usually per epoch."""
    fig, ax = _axes(5.6, 3.8)
    for name, (x, values) in series.items():
        ax.plot(x, values, marker="o", lw=1.4, label=name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel=xlabel, ylabel="value", title="Dev metrics")
    ax.legend(fontsize=8)
    return _png(fig)


def epoch_curves_png(per_epoch: dict[str, tuple[list[float], list[float]]]) -> bytes:
    """The seed's two pictures side by side: dev pair accuracy per epoch and training loss per epoch."""
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    acc_ax, loss_ax = fig.subplots(1, 2)
    for ax, name, title, color in (
        (acc_ax, "dev_pair_accuracy", "Pair accuracy (dev, ROC threshold)", _MATCH),
        (loss_ax, "train_loss", "Loss (training)", _NON_MATCH),
    ):
        if name in per_epoch:
            x, y = per_epoch[name]
            ax.plot(x, y, marker="o", lw=1.6, color=color)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", title=title)
    return _png(fig)


def pair_grid_png(cells: list[dict], columns: int = 4) -> bytes:
    """Image pairs with their distance (or score) and the decision, the seed's picture of test pairs.

    Each cell: ``{"a": array, "b": array or None, "text": caption or None, "label": str, "correct": bool}``;
    arrays are uint8 images; a wrong decision is framed in red, a right one in green.
    """
    rows = max(1, -(-len(cells) // columns))
    fig = Figure(figsize=(2.6 * columns, 1.9 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    for n, cell in enumerate(cells):
        ax = fig.add_subplot(rows, columns, n + 1)
        ax.imshow(_side_by_side(cell["a"], cell.get("b")), cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        color = "#2ca02c" if cell["correct"] else _MARK
        for spine in ax.spines.values():
            spine.set(color=color, linewidth=3)
        title = cell["label"] + (f"\n{cell['text'][:38]}" if cell.get("text") else "")
        ax.set_title(title, fontsize=8, color=color)
    return _png(fig)


def _side_by_side(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Two images next to each other (greyscale kept 2-d, colour converted to match), with a white gap."""
    if b is None:
        return a
    if a.ndim != b.ndim:
        a, b = (x if x.ndim == 3 else np.repeat(x[..., None], 3, axis=2) for x in (a, b))
    h = max(a.shape[0], b.shape[0])

    def pad(x: np.ndarray) -> np.ndarray:  # to height h, white below
        return np.pad(x, [(0, h - x.shape[0]), (0, 0)] + [(0, 0)] * (x.ndim - 2), constant_values=255)

    gap = np.full((h, max(2, h // 10)) + a.shape[2:], 255, dtype=np.uint8)
    return np.concatenate([pad(a), gap, pad(b)], axis=1)
