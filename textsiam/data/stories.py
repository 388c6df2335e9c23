"""Topic-held-out dev splits: whole stories go to one side, so dev predicts articles about unseen news.

A split by body (:meth:`PairData.split` on the FNC-1 ``group`` column) keeps each body on one side but not each
story: the same event has many bodies and headlines, so a dev body's story, its headlines and their wording are all
in train, and dev numbers overstate what a model reaches on new stories (FNC-1's competition test).

Stories are found from the pairs themselves: a graph whose nodes are the bodies (``group``) and the distinct
headlines (``a``) and whose edges are the *related* pairs (``class`` other than the negative class, ``unrelated``).
A connected component is one story: a headline written about a body's event links them, and a headline shared by
two bodies joins their stories. Unrelated pairs add no edge (they pair a headline with some other story's body).

:func:`topic_split` shuffles the stories with ``random.Random(seed)`` and holds them out until about ``fraction`` of
the pairs are held out. Dev is every pair whose body belongs to a held-out story (so it keeps the file's mix of
related and unrelated pairs); train is every pair whose body *and* headline belong to kept stories. The pairs of a
held-out story's headline with a kept body (all unrelated: a related pair never crosses stories) are dropped, so
no body and no headline of a held-out story appears in train. Dev's unrelated pairs may pair a kept story's
headline with a held-out body, as the original unrelated pairs were drawn across all stories.
"""

from __future__ import annotations

import random

import numpy as np

from textsiam.data.options import DEV_SPLITS
from textsiam.data.pairs import PairData
from textsiam.errors import ConfigError, DataError


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def story_ids(data: PairData, negative: str = "unrelated") -> tuple[np.ndarray, np.ndarray]:
    """``(story of each pair's headline, story of each pair's body)`` as integer ids (connected components of the
    related pairs; ids numbered in order of first appearance, so they depend only on the rows)."""
    columns = data.dataset.column_names
    if "group" not in columns or "class" not in columns:
        raise DataError(
            "a topic split needs a group column (e.g. the body id) and a class column (e.g. the stance), as the "
            "fnc1 reader gives; use the default dev split ('group') for these pairs",
            path=data.source,
        )
    heads, bodies, classes = data.a, data.dataset["group"], data.class_labels
    node: dict[tuple[str, str], int] = {}
    for key in (("h", h) for h in heads):
        node.setdefault(key, len(node))
    for key in (("b", b) for b in bodies):
        node.setdefault(key, len(node))
    parent = list(range(len(node)))
    for h, b, c in zip(heads, bodies, classes):
        if c != negative:
            ra, rb = _find(parent, node["h", h]), _find(parent, node["b", b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = [_find(parent, i) for i in range(len(node))]
    number: dict[int, int] = {}
    ids = [number.setdefault(r, len(number)) for r in roots]
    head_story = np.array([ids[node["h", h]] for h in heads], dtype=np.int64)
    body_story = np.array([ids[node["b", b]] for b in bodies], dtype=np.int64)
    return head_story, body_story


def topic_split(data: PairData, fraction: float, seed: int = 0) -> tuple[PairData, PairData]:
    """``(train, dev)``: whole stories held out (about ``fraction`` of the pairs in dev), deterministic per seed;
    the pairs of held-out headlines with kept bodies are dropped (see the module docstring)."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"split fraction must be strictly between 0 and 1, got {fraction!r}")
    head_story, body_story = story_ids(data)
    stories = sorted(set(body_story.tolist()) | set(head_story.tolist()))
    random.Random(seed).shuffle(stories)
    pairs_of = np.bincount(body_story, minlength=len(stories))
    held: set[int] = set()
    target, count = fraction * len(data), 0
    for story in stories:
        if count >= target:
            break
        held.add(story)
        count += int(pairs_of[story])
    held_mask = np.zeros(len(stories), dtype=bool)
    held_mask[list(held)] = True
    dev = held_mask[body_story]
    train = ~held_mask[head_story] & ~held_mask[body_story]
    if not dev.any() or not train.any():
        raise ConfigError(
            f"a topic split with fraction {fraction} of {len(data)} pairs leaves an empty side ({int(train.sum())} "
            f"train, {int(dev.sum())} dev pairs over {len(stories)} stories); use more pairs or another fraction"
        )
    return data.select(np.flatnonzero(train)), data.select(np.flatnonzero(dev))


def carve_dev(data: PairData, fraction: float, seed: int, how: str = "group") -> tuple[PairData, PairData]:
    """``(rest, dev)`` carved off ``data`` the way ``how`` (one of :data:`DEV_SPLITS`) says."""
    if how == "group":
        return data.split(fraction, seed=seed)
    if how == "topic":
        return topic_split(data, fraction, seed)
    raise ConfigError(f"dev_split must be one of {list(DEV_SPLITS)}, got {how!r}")
