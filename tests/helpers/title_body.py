"""A small synthetic FNC-1-like corpus: topic words decide related/unrelated, a headline marker word the stance."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

TOPICS = [
    "volcano lava eruption island ash",
    "election vote senator ballot campaign",
    "football match goal striker league",
    "bank interest loan market inflation",
    "virus vaccine hospital doctor outbreak",
    "rocket launch orbit satellite moon",
]
MARKERS = {"agree": "confirms", "disagree": "denies", "discuss": "reports"}


def write_corpus(folder: Path, prefix: str = "train", n_bodies: int = 24, n_stances: int = 240, seed: int = 0) -> Path:
    """Write ``{prefix}_bodies.csv`` and ``{prefix}_stances.csv`` (FNC-1 format); returns the stances path."""
    rng = np.random.default_rng(seed)
    bodies = []
    for i in range(n_bodies):
        words = TOPICS[i % len(TOPICS)].split()
        bodies.append((str(100 + i), " ".join(rng.choice(words, size=30)) + " the story went on."))
    stances = []
    for _ in range(n_stances):
        i = int(rng.integers(n_bodies))
        stance = str(rng.choice(["unrelated", "agree", "disagree", "discuss"], p=[0.5, 0.2, 0.1, 0.2]))
        topic = i % len(TOPICS) if stance != "unrelated" else (i + 1 + int(rng.integers(len(TOPICS) - 1))) % len(TOPICS)
        words = " ".join(rng.choice(TOPICS[topic].split(), size=3))
        marker = MARKERS.get(stance, str(rng.choice(list(MARKERS.values()))))
        stances.append((f"Source {marker} {words}", bodies[i][0], stance))
    return write_fnc_files(folder, prefix, stances, bodies)


def write_fnc_files(folder: Path, prefix: str, stances: list, bodies: list) -> Path:
    """Write ``(Headline, Body ID, Stance)`` and ``(Body ID, articleBody)`` rows as FNC-1 csv files; returns the stances
    path."""
    for name, header, rows in (
        (f"{prefix}_bodies.csv", ["Body ID", "articleBody"], bodies),
        (f"{prefix}_stances.csv", ["Headline", "Body ID", "Stance"], stances),
    ):
        with open(folder / name, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    return folder / f"{prefix}_stances.csv"
