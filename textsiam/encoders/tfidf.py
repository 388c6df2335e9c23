"""TF-IDF text tower: scikit-learn's TfidfVectorizer fitted on the training texts, stored as JSON, no parameters."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from textsiam.atomic import write_json
from textsiam.encoders import checks
from textsiam.encoders.base import Encoder
from textsiam.errors import ConfigError
from textsiam.params import POSITIVE_INT, Bool, Choice, Optional
from textsiam.registry import ENCODERS

STATE_FILE = "tfidf.json"


@ENCODERS.register("tfidf")
class TfidfEncoder(Encoder):
    """L2-normalised tf-idf vectors (the classic baseline): zero trainable parameters, vocabulary + idf in JSON.

    ``fit_vocabulary`` fits scikit-learn's ``TfidfVectorizer`` on the training texts; the vocabulary and idf weights
    are saved as ``tfidf.json`` (never a pickled vectorizer) and applied with the same formula at inference:
    ``tf * idf`` (``1 + log tf`` with ``sublinear_tf``), L2-normalised. Vectors have ``max_features`` dimensions
    (unused ones stay 0), so projections built before fitting keep their shape.
    """

    modality = "text"
    params = {
        "max_features": POSITIVE_INT,
        "min_df": POSITIVE_INT,
        "ngram_max": POSITIVE_INT,
        "sublinear_tf": Bool(),
        "stop_words": Optional(Choice("english")),
        "lowercase": Bool(),
    }

    def __init__(
        self,
        max_features: int = 10000,
        min_df: int = 1,
        ngram_max: int = 1,
        sublinear_tf: bool = False,
        stop_words: str | None = None,
        lowercase: bool = True,
        _state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.check_params(
            max_features=max_features,
            min_df=min_df,
            ngram_max=ngram_max,
            sublinear_tf=sublinear_tf,
            stop_words=stop_words,
            lowercase=lowercase,
        )
        self.max_features, self.min_df, self.ngram_max = max_features, min_df, ngram_max
        self.sublinear_tf, self.stop_words, self.lowercase = sublinear_tf, stop_words, lowercase
        self.vocabulary_: dict[str, int] | None = None
        self.idf_: np.ndarray | None = None
        self._counter: CountVectorizer | None = None
        if _state is not None:
            self._set_state(_state["vocabulary"], np.asarray(_state["idf"], dtype=np.float32))

    def _options(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase, "stop_words": self.stop_words, "ngram_range": (1, self.ngram_max)}

    def _set_state(self, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        if len(vocabulary) != len(idf) or len(idf) > self.max_features:
            raise ConfigError(
                f"tfidf state has {len(vocabulary)} terms and {len(idf)} idf weights (max {self.max_features})"
            )
        self.vocabulary_, self.idf_ = dict(vocabulary), idf
        self._counter = CountVectorizer(vocabulary=self.vocabulary_, **self._options())

    @property
    def dim(self) -> int:
        return self.max_features

    @property
    def is_fitted(self) -> bool:
        return self.vocabulary_ is not None

    def fit_vocabulary(self, texts: Sequence[str]) -> dict[str, Any]:
        vectorizer = TfidfVectorizer(
            max_features=self.max_features, min_df=self.min_df, sublinear_tf=self.sublinear_tf, **self._options()
        )
        vectorizer.fit(list(texts))
        vocab = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
        self._set_state(vocab, vectorizer.idf_.astype(np.float32))
        return {"vocab_size": len(vocab), "fitted_on_texts": len(texts)}

    def transform(self, items: Sequence[str]) -> np.ndarray:
        """``(n, max_features)`` float32 tf-idf rows, as ``TfidfVectorizer.transform`` computes them."""
        if self._counter is None or self.idf_ is None:
            raise ConfigError(
                "the tfidf tower is not fitted: its vocabulary and idf come from the training texts. Fit it with "
                "`textsiam train --preset tfidf-twin --train FILE --out DIR` (no weights to train: it only fits), "
                "or model.fit_vocabulary(a_texts, b_texts) in Python"
            )
        counts = self._counter.transform(list(items)).astype(np.float32).tocsr()
        if self.sublinear_tf:
            counts.data = 1.0 + np.log(counts.data)
        weighted = counts.multiply(self.idf_[None, :]).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).reshape(-1, 1)
        out = np.zeros((len(items), self.max_features), dtype=np.float32)
        out[:, : len(self.idf_)] = weighted.toarray() / np.maximum(norms, 1e-12)
        return out

    def collate(self, items: Sequence[str]) -> dict[str, torch.Tensor]:
        self.check_items(items)
        return {"tfidf": torch.from_numpy(self.transform(items))}  # (batch, max_features)

    def check_items(self, items: Sequence[Any]) -> None:
        checks.texts(items)

    def item_length(self, item: str) -> int:
        return len(item)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return features["tfidf"]

    def save_assets(self, folder: Path) -> None:
        if self.vocabulary_ is None or self.idf_ is None:
            raise ConfigError("an unfitted tfidf tower has nothing to save; fit it on training texts first")
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / STATE_FILE, {"vocabulary": self.vocabulary_, "idf": self.idf_.tolist()})

    @classmethod
    def from_saved(cls, config: dict[str, Any], folder: Path) -> TfidfEncoder:
        import json

        path = folder / STATE_FILE
        if not path.exists():
            raise ConfigError(f"{path} is missing: a saved tfidf tower keeps its vocabulary and idf there")
        return cls(**config, _state=json.loads(path.read_text(encoding="utf-8")))
