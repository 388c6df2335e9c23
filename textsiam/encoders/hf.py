"""Text tower over any ``transformers`` AutoModel folder, with mean / CLS / max pooling."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from textsiam.encoders.base import Encoder
from textsiam.encoders.pretrained import resolve_pretrained
from textsiam.layers.pooling import Pooler  # importing layers registers the poolers
from textsiam.registry import ENCODERS, POOLERS


@ENCODERS.register("hf-transformer")
class HfTextEncoder(Encoder):
    """Transformer text encoder (any AutoModel folder or packaged name) + pooling + optional L2 normalisation."""

    modality = "text"

    def __init__(
        self,
        model_name_or_path: str,
        pooling: str = "mean",
        normalize: bool = False,
        max_length: int = 256,
        _folder: Path | None = None,
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.model_name_or_path, self.pooling_name = model_name_or_path, pooling
        self.normalize, self.max_length = normalize, max_length
        self.pooler: Pooler = POOLERS.build(pooling)
        if _folder is None:  # fresh: pretrained weights
            folder = resolve_pretrained(model_name_or_path)
            # safetensors only: a folder's pickled pytorch_model.bin is never loaded
            self.transformer = AutoModel.from_pretrained(folder, use_safetensors=True)
        else:  # rebuilt from a saved textsiam model: architecture only, the weights come from model.safetensors
            from transformers import AutoConfig

            folder = _folder
            self.transformer = AutoModel.from_config(AutoConfig.from_pretrained(folder))
        self.tokenizer = AutoTokenizer.from_pretrained(folder)

    @property
    def dim(self) -> int:
        return int(self.transformer.config.hidden_size)

    def collate(self, items: Sequence[str]) -> dict[str, torch.Tensor]:
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ValueError(f"text encoder got a {type(item).__name__} at position {i}, expected a string")
        return dict(
            self.tokenizer(list(items), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        )

    def merge(self, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Pad both token batches to one length and stack them (padding is masked, so embeddings are unchanged)."""
        seq = max(a["input_ids"].shape[1], b["input_ids"].shape[1])
        pad_id = self.tokenizer.pad_token_id or 0

        def pad(t: torch.Tensor, key: str) -> torch.Tensor:  # (batch, len) -> (batch, seq)
            return F.pad(t, (0, seq - t.shape[1]), value=pad_id if key == "input_ids" else 0)

        return {k: torch.cat([pad(a[k], k), pad(b[k], k)]) for k in a}

    def item_length(self, item: str) -> int:
        return len(item)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = features["attention_mask"]
        tokens = self.transformer(**features).last_hidden_state  # (batch, seq, hidden)
        pooled = self.pooler(tokens, mask)  # (batch, hidden)
        return F.normalize(pooled, dim=-1) if self.normalize else pooled

    def get_config(self) -> dict[str, Any]:
        return {
            "model_name_or_path": self.model_name_or_path,
            "pooling": self.pooling_name,
            "normalize": self.normalize,
            "max_length": self.max_length,
        }

    def save_assets(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.transformer.config.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)

    @classmethod
    def from_saved(cls, config: dict[str, Any], folder: Path) -> HfTextEncoder:
        return cls(**config, _folder=folder)
