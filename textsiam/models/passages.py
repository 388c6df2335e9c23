"""Relevant passages: the sentences of a long second text that share the most words with the first text.

A cross-encoder reads ``[CLS] a [SEP] b [SEP]`` within ``max_length`` tokens, so of a news body (FNC-1: ~370 words on
average) it reads only the lede. Where the body states its stance on the headline later, in a paragraph that names
the headline's people and things, the model never sees it. ``relevant_passages`` keeps instead the sentences of ``b``
that share the most content words with ``a``, as many as fit in the tokens left after ``a``, in their order in
``b``. The scoring is plain word overlap (no fitted vocabulary: the choice depends only on the two texts, so the
same pair reads the same passages in training, scoring and serving): a word is lowercased, letters and digits only,
at least 3 characters, not a stop word, and compared on its first 5 characters (``claims`` and ``claimed`` count as
one word). Ties keep the earlier sentence: with no overlap at all the result is the first sentences that fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# a sentence ends at . ! ? and a space, but not after an initial or a title ("U.S. troops", "Mr. Plant"), or at a
# line break
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)(?<!\bMrs\.)(?<!\b[MD]r\.)(?<!\bMs\.)\s+|\s*\n+\s*")
_WORD = re.compile(r"[a-z0-9]+")
_STEM = 5
_STOP = frozenset(
    "the and for are was were has have had not but with that this from they their them his her she him its into "
    "out over than then there these those who whom what when where which while will would could should can may "
    "about after before been being also more most some such only other any all one two says said say just very "
    "our your you yes".split()
)


def content_words(text: str) -> set[str]:
    """The words ``text`` is about: lowercased, at least 3 characters, no stop words, cut to 5 characters."""
    return {w[:_STEM] for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOP}


def sentences(text: str) -> list[str]:
    """``text`` cut after ``.``, ``!`` or ``?`` followed by a space (not after an initial or a title such as
    ``U.S.`` or ``Mr.``), and at line breaks; empty pieces dropped."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def relevant_passages(a: str, b: str, budget: int, count_tokens: Callable[[Sequence[str]], list[int]]) -> str:
    """``b`` cut to its sentences most relevant to ``a`` that fit in ``budget`` tokens, in their order in ``b``.

    ``count_tokens(texts)`` gives each text's token count (the model's tokenizer, no special tokens). A ``b`` that
    fits whole is returned unchanged; the best sentence is kept even when it alone is over the budget (the tokenizer
    then cuts it)."""
    parts = sentences(b)
    if len(parts) < 2:
        return b
    counts = count_tokens(parts)
    if sum(counts) <= budget:
        return b
    query = content_words(a)
    overlap = [len(query & content_words(s)) for s in parts]
    ranked = sorted(range(len(parts)), key=lambda i: (-overlap[i], i))
    kept, used = [ranked[0]], counts[ranked[0]]
    for i in ranked[1:]:
        if used + counts[i] <= budget:
            kept.append(i)
            used += counts[i]
    return " ".join(parts[i] for i in sorted(kept))
