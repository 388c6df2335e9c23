"""Silver pairs: extra pairs drawn from the training texts, labelled by a teacher (a cross-encoder or a twin), trained
on beside the gold pairs.

The texts are the distinct texts of both sides of the training pairs, in the order they first appear. Two ways to
draw pairs of them (``sampling``):

- ``random``: uniform pairs of two different texts. Most are unrelated, so they teach the student what dissimilar
  looks like;
- ``neighbours``: each text with its nearest neighbours under the student's embeddings before training (cosine),
  nearest first: text 1's nearest, text 2's nearest, ..., then every text's second nearest, and so on. These are the
  similar and confusable pairs random sampling almost never draws, where a teacher's labels teach the most. A
  student without embeddings (a cross-encoder) takes a twin teacher's embeddings instead.

Either way a pair is unordered and drawn once, a text is never paired with itself, and a gold pair (in either
order) is never drawn again: the gold pairs keep their gold labels.

Labels of a cross-encoder teacher (:func:`silver_labels`): its score ``p`` in [0, 1] (the sigmoid of its logit) is
put on the gold labels' scale by their range, ``lo + p * (hi - lo)``: graded gold on 0..5 (STS) gets ``5 p``, binary
gold on 0..1 gets ``p`` itself, the teacher's probability as a soft label. The teacher was trained on labels scaled
the same way (``(label - lo) / (hi - lo)``), so its score means the same on either scale.

Labels of a twin teacher (:func:`fitted_labels`): its score is a cosine, which no training put on the labels' scale
(a CoSENT twin only orders pairs), so the teacher also scores the gold pairs and a least-squares line from its score
to the gold label, clipped to the labels' range, maps each silver pair's score to a label.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from textsiam.data import PairData
from textsiam.errors import ConfigError
from textsiam.train.config import SILVER_SAMPLINGS as SAMPLINGS

CHUNK = 1024  # rows of the similarity matrix computed at once: (CHUNK, texts) floats


def training_texts(data: PairData) -> list[str]:
    """The distinct texts of both sides, in the order they first appear."""
    return list(dict.fromkeys([*data.a, *data.b]))


def gold_rows(data: PairData, texts: list[str]) -> np.ndarray:
    """``(pairs, 2)`` text indices of the gold pairs, in their order and sides (``texts``: :func:`training_texts`)."""
    index = {t: i for i, t in enumerate(texts)}
    return np.asarray([(index[a], index[b]) for a, b in zip(data.a, data.b)], dtype=np.int64).reshape(-1, 2)


def gold_keys(data: PairData, texts: list[str]) -> set[tuple[int, int]]:
    """The gold pairs as unordered pairs of text indices ``(low, high)``."""
    return {_key(i, j) for i, j in gold_rows(data, texts).tolist()}


def _key(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


def sample_pairs(
    sampling: str,
    n_texts: int,
    count: int,
    taken: set[tuple[int, int]],
    seed: int,
    embeddings: torch.Tensor | None = None,
) -> np.ndarray:
    """``(m, 2)`` text indices of up to ``count`` new pairs (fewer only when no more exist), none of them ``taken``.

    ``neighbours`` needs the texts' ``embeddings (n_texts, dim)``."""
    if sampling not in SAMPLINGS:
        raise ConfigError(f"silver_sampling must be one of {list(SAMPLINGS)}, got {sampling!r}")
    possible = n_texts * (n_texts - 1) // 2 - sum(1 for i, j in taken if i != j)
    count = min(count, possible)
    if count <= 0:
        return np.empty((0, 2), dtype=np.int64)
    if sampling == "random":
        return _random_pairs(n_texts, count, taken, seed)
    if embeddings is None or embeddings.shape[0] != n_texts:
        raise ConfigError("neighbours sampling needs one embedding per training text")
    return _neighbour_pairs(embeddings, count, taken)


def _random_pairs(n: int, count: int, taken: set[tuple[int, int]], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chosen: dict[tuple[int, int], None] = {}
    while len(chosen) < count:
        draws = rng.integers(0, n, size=(2 * (count - len(chosen)) + 16, 2))
        for i, j in draws.tolist():
            key = _key(i, j)
            if i != j and key not in taken and key not in chosen:
                chosen[key] = None
                if len(chosen) == count:
                    break
    return np.asarray(list(chosen), dtype=np.int64).reshape(-1, 2)


def _neighbour_pairs(embeddings: torch.Tensor, count: int, taken: set[tuple[int, int]]) -> np.ndarray:
    n = embeddings.shape[0]
    unit = torch.nn.functional.normalize(embeddings.float(), dim=1)
    k = min(n - 1, 2 * math.ceil(count / n) + 1)
    while True:
        ranked = _nearest(unit, k)  # (n, k): each text's neighbours, nearest first
        chosen: dict[tuple[int, int], None] = {}
        for rank in range(k):
            for i in range(n):
                key = _key(i, int(ranked[i, rank]))
                if key not in taken and key not in chosen:
                    chosen[key] = None
                    if len(chosen) == count:
                        return np.asarray(list(chosen), dtype=np.int64)
        if k == n - 1:  # every pair seen: fewer exist than asked for
            return np.asarray(list(chosen), dtype=np.int64).reshape(-1, 2)
        k = min(n - 1, 2 * k)


def _nearest(unit: torch.Tensor, k: int) -> torch.Tensor:
    """Indices ``(n, k)`` of each row's ``k`` most cosine-similar other rows, nearest first (exact, in chunks)."""
    out = []
    for start in range(0, unit.shape[0], CHUNK):
        sims = unit[start : start + CHUNK] @ unit.T  # (chunk, n)
        rows = torch.arange(sims.shape[0])
        sims[rows, rows + start] = -math.inf  # never a text's own row
        out.append(torch.topk(sims, k, dim=1).indices)
    return torch.cat(out)


def silver_labels(scores: np.ndarray, gold: PairData) -> np.ndarray:
    """Teacher scores in [0, 1] on the gold labels' scale: ``lo + p * (hi - lo)`` (see the module doc)."""
    p = np.asarray(scores, dtype=np.float64)
    if p.size and (not np.isfinite(p).all() or p.min() < 0 or p.max() > 1):
        raise ConfigError("the teacher's scores must lie in [0, 1] (a cross model's sigmoid); got values outside")
    lo, hi = gold.label_range
    return lo + p * (hi - lo)


def fitted_labels(scores: np.ndarray, gold_scores: np.ndarray, gold: PairData) -> np.ndarray:
    """A twin teacher's scores (cosines, not probabilities) on the gold labels' scale: the least-squares line
    ``label = c + m * score`` fitted on the gold pairs (the teacher's score of each gold pair against its label),
    clipped to the gold labels' range (see the module doc)."""
    x = np.asarray(gold_scores, dtype=np.float64)
    y = np.asarray(gold.labels, dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(np.asarray(scores, dtype=np.float64)).all()):
        raise ConfigError("the twin teacher gave a score that is not finite (nan or inf); check the teacher's weights")
    if len(x) < 2 or np.ptp(x) == 0:
        raise ConfigError(
            f"{gold.source}: the twin teacher gives every gold pair the same score, so no line maps its scores onto "
            "the gold labels; use a trained teacher"
        )
    slope, intercept = np.polyfit(x, y, 1)
    lo, hi = gold.label_range
    return np.clip(intercept + slope * np.asarray(scores, dtype=np.float64), lo, hi)


def check_gold(gold: PairData) -> None:
    """Gold pairs silver pairs can join: text pairs with labels and no per-pair extras (negatives, classes)."""
    extra = sorted(set(gold.dataset.column_names) - {"a", "b", "label"})
    if gold.resamples or not gold.has_labels or not (len(gold) and isinstance(gold.a[0], str)):
        raise ConfigError(f"{gold.source}: silver pairs join labelled text pairs; these are not")
    if extra:
        raise ConfigError(
            f"{gold.source}: the training pairs carry {extra} per pair, which a silver pair (labelled by the "
            "teacher's one score) cannot have; distil on plain labelled pairs (a, b, label)"
        )


def with_silver(gold: PairData, texts: list[str], pairs: np.ndarray, labels: np.ndarray) -> PairData:
    """The gold pairs (first, unchanged) followed by the silver ``pairs`` (text indices) with their ``labels``."""
    a = [texts[i] for i in pairs[:, 0].tolist()]
    b = [texts[j] for j in pairs[:, 1].tolist()]
    return gold.with_pairs_added(a, b, np.asarray(labels, dtype=np.float64).tolist())
