"""A word tokenizer and a vocabulary built from training texts, saved as a plain ``vocab.txt`` (one token a line).

Index 0 is the padding token and 1 the unknown token; the rest are the training texts' most frequent words with at
least ``min_count`` occurrences, most frequent first (ties alphabetical, so a build is deterministic).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from textsiam.atomic import atomic_write_text

PAD, UNK = "<pad>", "<unk>"
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Words and single punctuation marks (GloVe 6B is lower-cased, so lower-case by default)."""
    return _TOKEN.findall(text.lower() if lowercase else text)


class Vocabulary:
    """Token <-> id table with explicit padding (id 0) and unknown (id 1) tokens."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {list(tokens[:2])}")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def build(cls, texts: Iterable[str], max_size: int, min_count: int, lowercase: bool = True) -> Vocabulary:
        counts = Counter(tok for text in texts for tok in tokenize(text, lowercase))
        kept = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        return cls([PAD, UNK, *kept[:max_size]])

    def __len__(self) -> int:
        return len(self.tokens)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.index.get(t, 1) for t in tokens]

    def save(self, path: Path) -> None:
        atomic_write_text(path, "\n".join(self.tokens) + "\n")

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        return cls(path.read_text(encoding="utf-8").split("\n")[:-1])
