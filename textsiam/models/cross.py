"""Cross-encoder: one transformer reads both items of a pair together (``[CLS] a [SEP] b [SEP]``, the tokenizer's
pair encoding) with attention across them, and a head on the pooled output scores the pair.

The head is the one a transformers sequence-classification model puts on its first token: ``tanh(dense(h_cls))``
then a linear layer (BERT's pooler + classifier, MPNet's classification head), so ``textsiam export --format hf``
writes a folder ``AutoModelForSequenceClassification`` (and sentence-transformers' ``CrossEncoder``) loads with the
same outputs. One output (a logit; the score is its sigmoid) for binary or graded labels, or one logit per class.
A cross model has no embeddings: ``encode``, search and the embedding routes refuse it (:class:`NoEmbeddingsError`).
``passages``: what of a second text longer than the tokens left it is read: ``lede`` (its start, the tokenizer's cut)
or ``relevant`` (its sentences that share the most words with the first text: :mod:`textsiam.models.passages`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn
from tqdm.auto import tqdm

from textsiam.encoders import checks
from textsiam.encoders.hf import HfTextEncoder
from textsiam.errors import ConfigError
from textsiam.layers.heads import negative_log_odds
from textsiam.models.base import PairModel, to_device
from textsiam.models.passages import relevant_passages
from textsiam.models.predictions import check_pairs
from textsiam.params import Bool, Choice, Constraint, Interval, ListOf, Optional, Text
from textsiam.registry import PAIR_MODELS


class NoEmbeddingsError(ConfigError):
    """Raised when a cross-encoder is asked for embeddings (encode, search, /v1/embed)."""


NO_EMBEDDINGS = (
    "a cross-encoder has no embeddings: it reads the two texts of a pair together and gives one score per pair. "
    "Use it to score, compare, match or rerank pairs; to encode or search single texts use a twin model "
    "(e.g. minilm-twin), and rerank the twin's results with this one (search --rerank)"
)


class CrossHead(nn.Module):
    """``tanh(dense(h_cls))`` -> dropout -> linear: ``(n,)`` logits, or ``(n, classes)`` with ``classes``."""

    def __init__(self, hidden: int, classes: list[str] | None, negative: str | None, dropout: float) -> None:
        super().__init__()
        self.classes, self.negative = classes, negative
        self.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, len(classes) if classes else 1)

    def forward(self, first_token: torch.Tensor) -> torch.Tensor:  # (n, hidden) -> (n,) or (n, classes)
        logits = self.out(self.dropout(torch.tanh(self.dense(first_token))))
        return logits if self.classes else logits.squeeze(-1)

    def binary_score(self, logits: torch.Tensor) -> torch.Tensor:
        """(n, classes) logits -> (n,) log-odds of "not the negative class"; higher = more of a match."""
        if self.negative is None:
            raise ConfigError(
                f"this cross model has classes {self.classes} but no 'negative' class, so it has no binary score; "
                "build it with negative=<the no-match class>, or use predict_classes()"
            )
        return negative_log_odds(logits, self.classes.index(self.negative))


@PAIR_MODELS.register("cross")
class CrossModel(PairModel):
    """Cross-encoder: one transformer reads a and b together; a head on its first token scores the pair."""

    tower_keys: ClassVar[tuple[str, ...]] = ("encoder",)
    config_keys: ClassVar[tuple[str, ...]] = ("classes", "negative", "symmetric", "dropout", "passages")
    training_kind: ClassVar[str] = "pairs"
    params: ClassVar[dict[str, Constraint]] = {  # no similarity or head of the base: the cross head is its own
        "classes": Optional(ListOf(Text(), min_len=2, unique=True)),
        "negative": Optional(Text()),
        "symmetric": Bool(),
        "dropout": Interval(float, 0, 1, closed="left"),
        "passages": Choice("lede", "relevant"),
    }

    def __init__(
        self,
        encoder: HfTextEncoder,
        classes: list[str] | None = None,
        negative: str | None = None,
        symmetric: bool = False,
        dropout: float = 0.1,
        passages: str = "lede",
    ) -> None:
        super().__init__()
        if not isinstance(encoder, HfTextEncoder):
            raise ConfigError(
                f"a cross model reads pairs with a transformer (hf-transformer), got {type(encoder).__name__}"
            )
        checked = self.check_params(
            classes=classes, negative=negative, symmetric=symmetric, dropout=dropout, passages=passages
        )
        classes, negative, dropout = checked["classes"], checked["negative"], checked["dropout"]
        if negative is not None and negative not in (classes or []):  # ties two keys: checked after the declared
            raise ConfigError(f"cross model: negative {negative!r} must be one of the classes {classes}")
        self.symmetric, self.passages = checked["symmetric"], checked["passages"]
        self.dropout_p = float(dropout)
        self.encoder = encoder
        self.head = CrossHead(encoder.pooled_dim, classes, negative, self.dropout_p)
        pooler = getattr(encoder.transformer, "pooler", None)
        if pooler is not None:  # the checkpoint's pooler starts the head (as transformers does); the body drops it
            if isinstance(getattr(pooler, "dense", None), nn.Linear):
                self.head.dense.load_state_dict(pooler.dense.state_dict())
            encoder.transformer.pooler = None

    left = right = property(lambda self: self.encoder, doc="The one transformer, reading both sides at once.")

    @property
    def classes(self) -> list[str] | None:
        return self.head.classes

    @property
    def score_name(self) -> str:
        return "cross-encoder"

    @property
    def embedding_dim(self) -> None:
        return None  # no embeddings (reported as null by the service's info)

    def encode(self, *args: Any, **kwargs: Any):
        raise NoEmbeddingsError(NO_EMBEDDINGS)

    def embed(self, *args: Any, **kwargs: Any):
        raise NoEmbeddingsError(NO_EMBEDDINGS)

    def compare(self, *args: Any, **kwargs: Any):
        raise NoEmbeddingsError(NO_EMBEDDINGS)

    score = project = compare

    # -- pairs ----------------------------------------------------------------------------------------------------
    def collate_pairs(self, a: Sequence[str], b: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token tensors of the pairs read together; ``symmetric``: the rows (a, b) then the rows (b, a)."""
        enc = self.encoder
        enc.check_items(a), enc.check_items(b)
        if self.passages == "relevant":
            b = self.relevant_passages(a, b)
        first, second = (list(a) + list(b), list(b) + list(a)) if self.symmetric else (list(a), list(b))
        return enc.long_text.tokenize_pairs(enc.tokenizer, enc._cased(first), enc._cased(second), enc.max_length)

    def relevant_passages(self, a: Sequence[str], b: Sequence[str]) -> list[str]:
        """Each ``b`` cut to its sentences most relevant to its ``a`` that fit beside ``a`` in ``max_length``."""
        tok = self.encoder.tokenizer

        def count(texts: Sequence[str]) -> list[int]:
            return [len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"]]

        room = self.encoder.max_length - tok.num_special_tokens_to_add(pair=True)
        return [relevant_passages(x, y, max(room - n, 0), count) for x, y, n in zip(a, b, count(a))]

    def forward_pairs(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Features from :meth:`collate_pairs` -> ``(n,)`` logits, or ``(n, classes)``; symmetric: both orders'
        logits averaged."""
        hidden = self.encoder.hidden_states(features)  # (rows, seq, hidden)
        logits = self.head(hidden[:, 0])  # (rows,) or (rows, classes)
        if self.symmetric:
            n = logits.shape[0] // 2
            logits = (logits[:n] + logits[n:]) / 2
        return logits

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        return self.forward_pairs(features)

    def outputs_of_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """What :meth:`pair_outputs` returns: the probability ``sigmoid(logit)`` per pair, or the class logits."""
        return logits if self.classes else torch.sigmoid(logits)

    @torch.inference_mode()
    def pair_outputs(
        self, a: Sequence[Any], b: Sequence[Any], batch_size: int = 64, show_progress: bool = False
    ) -> torch.Tensor:
        """``(n,)`` scores in [0, 1] (sigmoid of the logit), or ``(n, classes)`` logits of a multi-class head.

        Pairs run in batches of similar length (less padding) and come back in input order."""
        a, b = check_pairs(a, b)
        checks.positive_int("cross model", "batch_size", batch_size)
        self.encoder.check_items(a), self.encoder.check_items(b)
        n = len(a)
        width = len(self.classes) if self.classes else None
        out = torch.empty((n, width) if width else (n,))
        order = sorted(range(n), key=lambda i: len(a[i]) + len(b[i]), reverse=True)
        was_training = self.training
        self.eval()
        try:
            with tqdm(total=n, desc="score pairs", disable=not show_progress, unit="pair") as bar:
                for s in range(0, n, batch_size):
                    idx = order[s : s + batch_size]
                    feats = self.collate_pairs([a[i] for i in idx], [b[i] for i in idx])
                    logits = self.forward_pairs(to_device(feats, self.device)).float().cpu()
                    out[torch.as_tensor(idx)] = self.outputs_of_logits(logits)
                    bar.update(len(idx))
        finally:
            self.train(was_training)
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            "pair_model": "cross",
            "encoder": self.encoder.spec(),
            "classes": self.classes,
            "negative": self.head.negative,
            "symmetric": self.symmetric,
            "dropout": self.dropout_p,
            "passages": self.passages,
        }
