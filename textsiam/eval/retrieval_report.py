"""The report's retrieval pictures for caption–image data: what the model finds for a caption and for an image.

For a sample of captions, the caption and its 5 best images (the caption's own image framed green, others grey;
a miss says so); for a sample of images, the image and its 5 best captions (the image's own captions green); and
recall@K both ways for K = 1..50. Inputs are the ``(images, captions)`` score matrix and the collection's image
references, captions and ``caption_image`` (as in :mod:`textsiam.eval.retrieval`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from textsiam.eval.plots import _png
from textsiam.eval.retrieval import recall_curve

TOP = 5
SAMPLE = 6
_HIT, _OTHER = "#2ca02c", "#bbbbbb"


def sample_rows(n: int, count: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """``count`` distinct indices of ``n``, seeded (the same sample every time for one collection)."""
    return np.sort(np.random.default_rng(seed).permutation(n)[: min(count, n)])


def text_to_image_png(scores, caption_image, captions: Sequence[str], load: Callable, picked) -> bytes:
    """One row per picked caption: the caption, then its top-5 images (its own image framed green)."""
    fig = Figure(figsize=(2.0 * (TOP + 1.6), 2.0 * len(picked)), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(picked), TOP + 1, width_ratios=[1.6] + [1] * TOP)
    for r, k in enumerate(picked):
        order = np.argsort(-scores[:, k], kind="stable")
        rank = int(np.flatnonzero(order == caption_image[k])[0]) + 1
        ax = fig.add_subplot(grid[r, 0])
        ax.axis("off")
        found = f"right image at rank {rank}" if rank <= TOP else f"right image not in the top {TOP} (rank {rank})"
        ax.text(0, 0.5, textwrap.fill(captions[k], 26) + f"\n\n{found}", fontsize=8, va="center", wrap=True)
        for c, i in enumerate(order[:TOP]):
            hit = i == caption_image[k]
            _thumb(fig.add_subplot(grid[r, c + 1]), load(i), f"#{c + 1} {scores[i, k]:.3f}", hit)
    return _png(fig)


def image_to_text_png(scores, caption_image, captions: Sequence[str], load: Callable, picked) -> bytes:
    """One row per picked image: the image, then its top-5 captions (its own captions in green)."""
    fig = Figure(figsize=(11, 2.0 * len(picked)), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(picked), 2, width_ratios=[1, 4.2])
    for r, i in enumerate(picked):
        _thumb(fig.add_subplot(grid[r, 0]), load(i), f"image {i}", True)
        ax = fig.add_subplot(grid[r, 1])
        ax.axis("off")
        order = np.argsort(-scores[i], kind="stable")[:TOP]
        for line, k in enumerate(order):
            hit = caption_image[k] == i
            text = f"#{line + 1} {scores[i, k]:.3f} {'[own] ' if hit else ''}{textwrap.shorten(captions[k], 95)}"
            ax.text(0, 1 - (line + 0.5) / TOP, text, fontsize=8.5, va="center", color=_HIT if hit else "#333333")
    return _png(fig)


def recall_curve_png(curve: dict[str, np.ndarray]) -> bytes:
    fig = Figure(figsize=(6.0, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(curve["k"], curve["t2i"], label="text -> image", color="#1f77b4")
    ax.plot(curve["k"], curve["i2t"], label="image -> text", color="#ff7f0e")
    ax.set(xlabel="K", ylabel="recall@K (%)", ylim=(0, 100), xlim=(1, curve["k"][-1]), title="Recall@K")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return _png(fig)


def _thumb(ax, image: np.ndarray, title: str, hit: bool) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set(color=_HIT if hit else _OTHER, linewidth=4 if hit else 1)
    ax.set_title(title, fontsize=8, color=_HIT if hit else "#333333")


def retrieval_figures(
    scores, refs: Sequence[str], captions: Sequence[str], caption_image
) -> list[tuple[str, bytes, str]]:
    """``[(name, png, caption)]``: the text -> image and image -> text samples and the recall@K curve."""
    from textsiam.imaging import load_image

    scores = np.asarray(scores, dtype=np.float64)
    caption_image = np.asarray(caption_image, dtype=np.int64)

    def load(i: int) -> np.ndarray:
        return load_image(refs[int(i)])

    return [
        (
            "retrieval_text_to_image",
            text_to_image_png(scores, caption_image, captions, load, sample_rows(len(captions))),
            f"{SAMPLE} random captions and their top {TOP} images (the right image framed green)",
        ),
        (
            "retrieval_image_to_text",
            image_to_text_png(scores, caption_image, captions, load, sample_rows(len(refs), seed=1)),
            f"{SAMPLE} random images and their top {TOP} captions (the image's own captions in green)",
        ),
        ("recall_at_k", recall_curve_png(recall_curve(scores, caption_image)), "Recall@K, K = 1..50, both ways"),
    ]
