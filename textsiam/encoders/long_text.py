"""Inputs longer than a transformer's ``max_length``: cut them (``truncate``) or read them in windows (``chunk``).

``truncate`` keeps the first ``max_length`` tokens and warns once, saying how many inputs of the batch were cut.
``chunk`` splits each input into overlapping windows of ``max_length`` tokens (``chunk_overlap`` tokens shared by
neighbours, at most ``max_chunks`` windows), embeds every window and pools the windows of an input by mean or max.

``truncate`` tokenizes through the fast tokenizer's Rust backend directly (:class:`DirectTokens`) once a first
batch has shown that it gives the transformers call's tensors: half the time of ``tokenizer(...,
return_tensors="pt")`` on the 2,758 STS-B test sentences (docs/benchmarks.md, "Tokenizing through the Rust
backend"), the rest of that call being Python lists turned into tensors.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor

from textsiam.errors import ConfigError
from textsiam.params import POSITIVE_INT, Choice, Interval, Optional

CHUNK_OWNER = "chunk_owner"
"""Feature key of a chunked batch: ``(windows,)`` index of the input each window belongs to."""
MODES = ("truncate", "chunk")
PARAMS = {
    "long_text": Choice(*MODES),
    "chunk_overlap": Interval(int, 0),  # and < max_length / 2, checked with the window's length
    "chunk_pooling": Choice("mean", "max"),
    "max_chunks": Optional(POSITIVE_INT),  # null: no limit
}
"""The text towers' constructor keywords of the long-text policy (declared with the tower's own)."""


class LongText:
    """The ``long_text`` policy of one text tower (tokenisation side and window pooling); the tower has checked
    each keyword against :data:`PARAMS`, this checks the overlap against the window."""

    def __init__(self, mode: str, overlap: int, pooling: str, max_chunks: int | None, max_length: int) -> None:
        if mode == "chunk" and not 0 <= overlap < max_length // 2:
            raise ConfigError(f"chunk_overlap must be in [0, max_length / 2) = [0, {max_length // 2}), got {overlap}")
        self.mode, self.overlap, self.pooling, self.max_chunks = mode, overlap, pooling, max_chunks
        self.max_length = max_length
        self.inputs_cut = 0  # running count of inputs truncated (truncate mode)
        self._warned = False
        self._direct: dict[tuple, tuple[Any, DirectTokens | None]] = {}  # (tokenizer's id, ...): it, path or None

    def get_config(self) -> dict[str, Any]:
        return {
            "long_text": self.mode,
            "chunk_overlap": self.overlap,
            "chunk_pooling": self.pooling,
            "max_chunks": self.max_chunks,
        }

    def tokenize(self, tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
        if not tokenizer.is_fast:
            raise ConfigError("long_text needs a fast (Rust) tokenizer to split inputs into windows")
        direct = self._direct_path(tokenizer, texts) if self.mode == "truncate" and texts else None
        out, cut = direct(texts) if direct is not None else self._through_transformers(tokenizer, texts)
        self._note_cut(cut, len(texts))
        return out

    def tokenize_pairs(self, tokenizer, first: list[str], second: list[str], max_length: int) -> dict[str, Tensor]:
        """Pairs read together (a cross-encoder): ``[CLS] first [SEP] second [SEP]``, each pair cut longest-first to
        ``max_length`` tokens, padded to the longest; through the backend once the first batch has shown it gives
        the transformers call's tensors, as :meth:`tokenize` does."""
        direct = self._direct_path(tokenizer, first, second, max_length) if first else None
        if direct is not None:
            return direct(first, second)[0]
        return self._pairs_through_transformers(tokenizer, first, second, max_length)

    def _pairs_through_transformers(self, tokenizer, first, second, max_length: int) -> dict[str, torch.Tensor]:
        kwargs = {"truncation": "longest_first", "max_length": max_length, "padding": True, "return_tensors": "pt"}
        return dict(tokenizer(first, second, **kwargs))

    def _direct_path(self, tokenizer, texts: list[str], second: list[str] | None = None, max_length: int | None = None):
        """The tokenizer's :class:`DirectTokens` (single texts, or pairs with ``second``), made and checked against
        the transformers call on this first batch (its first 8 texts or pairs and one longer than ``max_length``);
        None for good where any tensor differs."""
        max_length = max_length or self.max_length
        key = (id(tokenizer), second is not None, max_length)
        known = self._direct.get(key)
        if known is None or known[0] is not tokenizer:
            direct = DirectTokens.of(tokenizer, max_length)
            if direct is not None:
                long = " ".join(["word"] * (2 * max_length))
                probe, pair = [*texts[:8], long], None if second is None else [*second[:8], long]
                if second is None:
                    expected, _ = self._through_transformers(tokenizer, probe)
                else:
                    expected = self._pairs_through_transformers(tokenizer, probe, pair, max_length)
                got, _ = direct(probe, pair)
                same = got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)
                direct = direct if same else None
            known = self._direct[key] = (tokenizer, direct)
        return known[1]

    def _through_transformers(self, tokenizer, texts: list[str]) -> tuple[dict[str, torch.Tensor], int]:
        """``(features, cut)`` from the transformers call: truncated inputs (``truncate``) or windows
        (``chunk``, with :data:`CHUNK_OWNER`); how many inputs were cut (0 in ``chunk`` mode)."""
        enc = tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            stride=self.overlap if self.mode == "chunk" else 0,
            return_overflowing_tokens=True,
            padding=True,
            return_tensors="pt",
            padding_side="right",  # the width cut below and HfTextEncoder.batches keep the leading columns
        )
        owner = enc.pop("overflow_to_sample_mapping")  # (windows,), ascending
        first = torch.ones_like(owner, dtype=torch.bool)
        first[1:] = owner[1:] != owner[:-1]
        cut = 0
        if self.mode == "truncate":
            cut, keep = int(owner[~first].unique().numel()), first
        else:
            rank = torch.arange(len(owner)) - torch.cummax(torch.where(first, torch.arange(len(owner)), 0), 0).values
            keep = rank < self.max_chunks if self.max_chunks else torch.ones_like(first)
        out = {k: v[keep] for k, v in enc.items()}
        width = int(out["attention_mask"].sum(1).max())  # drop columns that are padding in every kept row
        out = {k: v[:, :width] for k, v in out.items()}
        if self.mode == "chunk":
            out[CHUNK_OWNER] = owner[keep]
        return out, cut

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_direct": {}}  # keyed by the tokenizer's id: made again where it is used

    def _note_cut(self, cut: int, n: int) -> None:
        if cut <= 0:
            return
        self.inputs_cut += cut
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"long_text='truncate': {cut} of {n} inputs in this batch were longer than max_length="
                f"{self.max_length} tokens and were cut to their first {self.max_length} tokens; set "
                "long_text='chunk' to read all of them. Warned once per tower; its long_text.inputs_cut keeps "
                "the running count",
                stacklevel=4,
            )

    def pool_windows(self, pooled: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
        """(windows, dim) window vectors -> (inputs, dim) by mean or max over each input's windows."""
        n = int(owner.max()) + 1
        index = owner.to(pooled.device).unsqueeze(-1).expand_as(pooled)
        if self.pooling == "max":
            out = pooled.new_full((n, pooled.shape[1]), torch.finfo(pooled.dtype).min)
            return out.scatter_reduce(0, index, pooled, reduce="amax")
        total = pooled.new_zeros((n, pooled.shape[1])).scatter_add(0, index, pooled)
        counts = torch.bincount(owner.to(pooled.device), minlength=n).clamp(min=1).unsqueeze(-1)
        return total / counts.to(pooled.dtype)


class DirectTokens:
    """``truncate``-mode tokenization straight through a fast tokenizer's Rust backend: ``encode_batch`` on a copy of
    the backend (the tokenizer's own is left as the transformers calls set it), each row right-padded in numpy.

    Gives what ``tokenizer(texts, truncation=True, max_length=..., padding=True, return_tensors="pt")`` gives (the
    tokenizer's ``model_input_names``, its padding values and truncation side; pairs: ``tokenizer(texts, second,
    truncation="longest_first", ...)``) for tokenizers whose transformers call adds nothing in Python;
    :meth:`LongText.tokenize` and :meth:`LongText.tokenize_pairs` check that on a first batch before using it."""

    FIELDS = {"input_ids": "ids", "token_type_ids": "type_ids", "attention_mask": "attention_mask"}
    """Each feature's attribute of a ``tokenizers.Encoding``."""

    def __init__(self, backend, keys: list[str], pad: dict[str, int], max_length: int) -> None:
        self.backend, self.keys, self.pad, self.max_length = backend, keys, pad, max_length

    @classmethod
    def of(cls, tokenizer, max_length: int) -> DirectTokens | None:
        from tokenizers import Tokenizer

        if tokenizer.pad_token_id is None:  # no padding token: the transformers call's own errors and behaviour
            return None
        try:
            backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        except Exception:  # a backend that does not round-trip through its JSON: the transformers call only
            return None
        backend.no_padding()
        side = getattr(tokenizer, "truncation_side", "right")
        backend.enable_truncation(max_length, stride=0, strategy="longest_first", direction=side)
        names = list(tokenizer.model_input_names)
        keys = [k for k in cls.FIELDS if k in names]
        pad = {"input_ids": tokenizer.pad_token_id, "token_type_ids": tokenizer.pad_token_type_id or 0}
        return cls(backend, keys, {**pad, "attention_mask": 0}, max_length)

    def __call__(self, texts: list[str], second: list[str] | None = None) -> tuple[dict[str, torch.Tensor], int]:
        """``(features, cut)``: ``(n, longest)`` int64 tensors, right-padded; how many texts (or pairs, with
        ``second``: each text's partner) were truncated."""
        inputs = list(texts) if second is None else list(zip(texts, second))
        encodings = self.backend.encode_batch(inputs, add_special_tokens=True)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        filled = np.arange(int(lengths.max())) < lengths[:, None]  # (n, longest): True at a real token
        out = {}
        for key in self.keys:
            values = np.full(filled.shape, self.pad[key], dtype=np.int64)
            attr = self.FIELDS[key]
            values[filled] = np.fromiter(
                (v for e in encodings for v in getattr(e, attr)), dtype=np.int64, count=int(lengths.sum())
            )
            out[key] = torch.from_numpy(values)
        cut = sum(1 for i in np.flatnonzero(lengths == self.max_length) if encodings[i].overflowing)
        return out, cut
