"""Word-level BiLSTM text tower with a vocabulary built from the training texts, optionally GloVe-initialised."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textsiam.encoders import checks
from textsiam.encoders.base import Encoder
from textsiam.encoders.vocab import Vocabulary, tokenize
from textsiam.errors import ConfigError
from textsiam.params import POSITIVE_INT, PROBABILITY, Bool, Choice
from textsiam.registry import ENCODERS, POOLERS

VOCAB_FILE = "vocab.txt"


@ENCODERS.register("lstm")
class LstmEncoder(Encoder):
    """Word tokens -> embeddings -> BiLSTM -> max or mean pooling over the valid positions (padding masked).

    The vocabulary (``vocab_size`` most frequent words seen ``min_count`` times or more, plus explicit pad and
    unknown tokens) is built by :meth:`fit_vocabulary` from the training texts and saved as ``vocab.txt``.
    ``glove=True`` initialises the embeddings of the words GloVe 6B knows from its 50-d vectors (extra ``glove``).
    """

    modality = "text"
    params = {
        **dict.fromkeys(("vocab_size", "min_count", "embedding_dim", "hidden", "layers", "max_length"), POSITIVE_INT),
        "dropout": PROBABILITY,
        "pooling": Choice("max", "mean"),
        "glove": Bool(),  # and then embedding_dim 50
        "lowercase": Bool(),
    }

    def __init__(
        self,
        vocab_size: int = 20000,
        min_count: int = 2,
        embedding_dim: int = 50,
        hidden: int = 128,
        layers: int = 1,
        dropout: float = 0.1,
        pooling: str = "max",
        max_length: int = 256,
        glove: bool = False,
        lowercase: bool = True,
        _vocab: Vocabulary | None = None,
    ) -> None:
        super().__init__()
        sizes = {"vocab_size": vocab_size, "min_count": min_count, "embedding_dim": embedding_dim, "hidden": hidden}
        sizes |= {"layers": layers, "max_length": max_length}
        self.check_params(**sizes, dropout=dropout, pooling=pooling, glove=glove, lowercase=lowercase)
        if glove and embedding_dim != 50:
            raise ConfigError(f"glove=True gives 50-d vectors; set embedding_dim=50 (got {embedding_dim})")
        self.vocab_size, self.min_count, self.embedding_dim = vocab_size, min_count, embedding_dim
        self.hidden, self.layers, self.dropout, self.pooling = hidden, layers, dropout, pooling
        self.max_length, self.glove, self.lowercase = max_length, glove, lowercase
        self.vocab: Vocabulary | None = _vocab
        self.embedding = nn.Embedding(len(_vocab) if _vocab else 2, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(
            embedding_dim, hidden, num_layers=layers, bidirectional=True, batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )  # fmt: skip
        self.drop = nn.Dropout(dropout)
        self.pooler = POOLERS.build(pooling)

    @property
    def dim(self) -> int:
        return 2 * self.hidden

    @property
    def is_fitted(self) -> bool:
        return self.vocab is not None

    def fit_vocabulary(self, texts: Sequence[str]) -> dict[str, Any]:
        """Build the vocabulary from ``texts`` and a fresh embedding table (GloVe rows where known)."""
        self.vocab = Vocabulary.build(texts, self.vocab_size, self.min_count, self.lowercase)
        self.embedding = nn.Embedding(len(self.vocab), self.embedding_dim, padding_idx=0)
        info: dict[str, Any] = {"vocab_size": len(self.vocab)}
        if self.glove:
            from textsiam.encoders.glove import init_from_glove

            info["glove_found"] = init_from_glove(self.embedding.weight, self.vocab.tokens[2:], offset=2)
        return info

    def _require_vocab(self) -> Vocabulary:
        if self.vocab is None:
            raise ConfigError(
                "the lstm tower has no vocabulary yet: it is built from the training texts when training starts "
                "(textsiam train / Trainer), or call model.fit_vocabulary(a_texts, b_texts) first"
            )
        return self.vocab

    def collate(self, items: Sequence[str]) -> dict[str, torch.Tensor]:
        vocab = self._require_vocab()
        self.check_items(items)
        rows = [vocab.ids(tokenize(item, self.lowercase))[: self.max_length] or [1] for item in items]  # [] -> <unk>
        ids = torch.zeros(len(rows), max(map(len, rows), default=1), dtype=torch.long)  # (batch, seq), 0 = <pad>
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.as_tensor(row)
        return {"input_ids": ids, "attention_mask": (ids != 0).long()}

    def check_items(self, items: Sequence[Any]) -> None:
        checks.texts(items)

    def item_length(self, item: str) -> int:
        return len(item.split())

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        ids, mask = features["input_ids"], features["attention_mask"]
        x = self.drop(self.embedding(ids))  # (batch, seq, emb)
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])  # (batch, seq, 2*hidden)
        return self.pooler(self.drop(out), mask)  # (batch, 2*hidden)

    def save_assets(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._require_vocab().save(folder / VOCAB_FILE)

    @classmethod
    def from_saved(cls, config: dict[str, Any], folder: Path) -> LstmEncoder:
        path = folder / VOCAB_FILE
        if not path.exists():
            raise ConfigError(f"{path} is missing: a saved lstm tower keeps its vocabulary there")
        return cls(**config, _vocab=Vocabulary.load(path))
