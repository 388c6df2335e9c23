"""Hard-negative mining: for each (anchor, positive) pair, corpus texts the model ranks high that are not the positive.

The corpus is encoded once (right tower) into an :class:`~textsiam.index.store.Index` searched exactly or with faiss;
the anchors are then streamed in chunks (encoded, searched, filtered, written), so the anchors' embeddings and hits
never all sit in memory. The output is a triplet table (``anchor, positive, negative`` or ``negative_1..k``) that
the generic readers read back, written atomically.

The filters, in order: (1) drop the anchor's own text and every positive the data gives for this anchor; (2) keep
the hits ranked ``min_rank .. max_rank`` (1 = the best remaining hit); (3) drop hits scoring above
``positive score - margin`` or above ``max_ratio * positive score`` (likely unlabelled positives: false
negatives); (4) take ``negatives`` of the rest, the best ones (``sampling="top"``) or drawn at random
(``"random"``, seeded). An anchor left with fewer than ``negatives`` candidates is skipped and counted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from textsiam.atomic import atomic_write
from textsiam.data.pairs import PairData
from textsiam.data.texts import read_texts
from textsiam.data.writer import format_tsv
from textsiam.errors import ConfigError, DataError
from textsiam.index.search import build_index, check_searchable, search_embeddings
from textsiam.models.base import PairModel

SAMPLING = ("top", "random")


def mine_negatives(
    model: PairModel | str,
    data: PairData | str | os.PathLike,
    corpus: str | os.PathLike | Sequence[str],
    out: str | os.PathLike | None = None,
    *,
    negatives: int = 1,
    min_rank: int = 1,
    max_rank: int = 30,
    margin: float | None = None,
    max_ratio: float | None = None,
    sampling: str = "top",
    seed: int = 0,
    index_type: str = "exact",
    batch_size: int = 64,
    chunk_size: int = 1024,
    show_progress: bool = False,
    read: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Mine ``negatives`` hard negatives per positive pair of ``data`` from ``corpus`` (a text file or a list).

    ``model`` is a PairModel or what ``textsiam.load`` takes; ``data`` a PairData or a pair file, read with
    ``read_pairs(data, **read)`` after the settings are checked.
    Writes the triplets to ``out`` (TSV) when given; returns ``{"triplets": [(anchor, positive, [negatives])...],
    "anchors", "written", "skipped", "filtered", "settings"}`` (``triplets`` only without ``out``)."""
    check_settings(negatives, min_rank, max_rank, margin, max_ratio, sampling, chunk_size)
    if not isinstance(model, PairModel):
        from textsiam.models.io import create_model

        model = create_model(str(model)).eval()
    if not isinstance(data, PairData):
        from textsiam.data import read_pairs

        data = read_pairs(data, **(read or {}))
    check_searchable(model)
    texts = _corpus_texts(corpus)
    index = build_index(model, texts, batch_size=batch_size, show_progress=show_progress)
    if index_type == "faiss":
        from textsiam.index.ann import build_faiss

        index.ann = build_faiss(index.embeddings, index.similarity)
    elif index_type != "exact":
        raise ConfigError(f"index_type must be 'exact' or 'faiss', got {index_type!r}")
    anchors, positives = _positive_pairs(data)
    known: dict[str, set[str]] = {}
    for a, p in zip(anchors, positives):
        known.setdefault(a, {a}).add(p)
    settings = {"negatives": negatives, "min_rank": min_rank, "max_rank": max_rank, "margin": margin,
                "max_ratio": max_ratio, "sampling": sampling, "seed": seed, "index_type": index_type}  # fmt: skip
    stats = {"anchors": len(anchors), "written": 0, "skipped": 0, "filtered": 0, "settings": settings}
    rng = np.random.default_rng(seed)
    depth = max_rank + max(len(s) for s in known.values())  # enough hits to survive dropping the known texts

    def chunks():
        starts = range(0, len(anchors), chunk_size)
        for start in tqdm(starts, desc="mining", unit="chunk", disable=not show_progress):
            a, p = anchors[start : start + chunk_size], positives[start : start + chunk_size]
            q = model.encode(a, side="left", batch_size=batch_size).numpy()
            pv = model.encode(p, side="right", batch_size=batch_size).numpy()
            positive_scores = _pair_scores(index.similarity, q, pv)
            scores, positions = search_embeddings(index, q, min(depth, len(texts)))
            rows = []
            for i in range(len(a)):
                picked = _pick(scores[i], positions[i], texts, known[a[i]], positive_scores[i], settings, rng, stats)
                if picked is None:
                    stats["skipped"] += 1
                    continue
                rows.append((a[i], p[i], picked))
            stats["written"] += len(rows)
            yield rows

    header = ["anchor", "positive"] + (
        ["negative"] if negatives == 1 else [f"negative_{j + 1}" for j in range(negatives)]
    )
    if out is None:
        stats["triplets"] = [row for rows in chunks() for row in rows]
        return stats
    atomic_write(out, lambda tmp: _write(tmp, header, chunks()))
    return stats


def _pick(scores, positions, texts, known, positive_score, settings, rng, stats) -> list[str] | None:
    """The negatives of one anchor from its hits (best first), or None when too few pass the filters."""
    ranked = [(s, texts[p]) for s, p in zip(scores.tolist(), positions.tolist()) if p >= 0 and texts[p] not in known]
    window = ranked[settings["min_rank"] - 1 : settings["max_rank"]]
    ceiling = np.inf
    if settings["margin"] is not None:
        ceiling = min(ceiling, positive_score - settings["margin"])
    if settings["max_ratio"] is not None:
        ceiling = min(ceiling, settings["max_ratio"] * positive_score)
    kept = [text for s, text in window if s <= ceiling]
    stats["filtered"] += len(window) - len(kept)
    if len(kept) < settings["negatives"]:
        return None
    if settings["sampling"] == "random":
        chosen = np.sort(rng.choice(len(kept), size=settings["negatives"], replace=False))
        return [kept[j] for j in chosen]
    return kept[: settings["negatives"]]


def _write(tmp: str, header: list[str], chunks) -> None:
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(format_tsv(header, []))
        for rows in chunks:
            body = format_tsv(header, ((a, p, *n) for a, p, n in rows))
            f.write(body.split("\n", 1)[1])  # the header is written once, above


def _pair_scores(similarity: str, q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The model's similarity of each anchor with its own positive, as the index scores a hit."""
    if similarity == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    if similarity in ("cosine", "dot"):
        return (q * v).sum(1)
    return -np.linalg.norm(q - v, ord=2 if similarity == "euclidean" else 1, axis=1)


def _positive_pairs(data: PairData) -> tuple[list[str], list[str]]:
    """The (anchor, positive) pairs: every pair of unlabelled data, the similar ones (scaled label >= 0.5) else."""
    a, b = data.a, data.b
    if a and not isinstance(a[0], str):
        raise ConfigError("mine_negatives mines text pairs; this data holds arrays (e.g. images)")
    if not data.has_labels:
        return a, b
    keep = np.flatnonzero(data.scaled_labels() >= 0.5)
    if keep.size == 0:
        raise DataError("has no similar pair (scaled label >= 0.5) to mine negatives for", path=data.source)
    return [a[i] for i in keep], [b[i] for i in keep]


def _corpus_texts(corpus: str | os.PathLike | Sequence[str]) -> list[str]:
    """The distinct corpus texts in file order; a text with a tab is refused (the output is TSV)."""
    path = str(corpus) if isinstance(corpus, str | os.PathLike) else None
    texts = read_texts(corpus)[0] if path is not None else [str(t) for t in corpus]
    for row, text in enumerate(texts, start=1):
        if "\t" in text:
            raise DataError("a corpus text holds a tab, which the TSV output cannot; remove it", path=path, row=row)
    distinct = list(dict.fromkeys(texts))
    if not distinct:
        raise DataError("the corpus holds no texts", path=path)
    return distinct


def check_settings(negatives, min_rank, max_rank, margin, max_ratio, sampling, chunk_size) -> None:
    """The mining settings, checked before any model is built or data read: a ConfigError naming the bad one."""
    for name, value in (("negatives", negatives), ("min_rank", min_rank), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(max_rank, bool) or not isinstance(max_rank, int) or max_rank < min_rank:
        raise ConfigError(f"max_rank must be an integer >= min_rank ({min_rank}), got {max_rank!r}")
    if max_rank - min_rank + 1 < negatives:
        raise ConfigError(
            f"ranks {min_rank}..{max_rank} hold {max_rank - min_rank + 1} candidates, fewer than negatives={negatives}"
        )
    for name, value in (("margin", margin), ("max_ratio", max_ratio)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value != value):
            raise ConfigError(f"{name} must be a number or None, got {value!r}")
    if sampling not in SAMPLING:
        raise ConfigError(f"sampling must be one of {', '.join(map(repr, SAMPLING))}, got {sampling!r}")
