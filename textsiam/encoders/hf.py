"""Text tower over any ``transformers`` AutoModel folder, with mean / CLS / max pooling.

A sentence-transformers folder's own ``modules.json`` sets the defaults (pooling mode, Dense layers, Normalize,
maximum length); explicit arguments override them. The resolved values are what ``get_config`` returns, so a saved
model rebuilds exactly without reading the original folder again.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from textsiam.encoders import checks
from textsiam.encoders.base import Encoder
from textsiam.encoders.dense import DENSE_PARAMS, build_dense_stack, load_dense_weights
from textsiam.encoders.freezing import OutputCache, freeze_transformer
from textsiam.encoders.long_text import CHUNK_OWNER, LongText
from textsiam.encoders.long_text import PARAMS as LONG_TEXT_PARAMS
from textsiam.encoders.packed_bert import drop_grad_buffers, packable, packed_forward
from textsiam.encoders.parts import TransformerParts
from textsiam.encoders.prepared import Prepared, TokenTable
from textsiam.encoders.pretrained import check_transformer_folder, resolve_pretrained
from textsiam.encoders.st_folder import StLayout, read_st_folder
from textsiam.layers.linear import fast_linears, tracing
from textsiam.layers.pooling import Pooler  # importing layers registers the poolers
from textsiam.params import POSITIVE_INT, Bool, Fields, Interval, ListOf, Optional, Registered, Text
from textsiam.registry import ENCODERS, POOLERS

_PLAIN = StLayout(transformer_dir=Path())  # the defaults for a plain transformers folder
_PACKED_INPUTS = {"input_ids", "attention_mask", "token_type_ids"}


@ENCODERS.register("hf-transformer")
class HfTextEncoder(Encoder):
    """Transformer text encoder (any AutoModel folder or packaged name) + pooling + optional Dense + L2 norm."""

    modality = "text"
    params = {  # None: the folder's own setting (sentence-transformers modules.json), else textsiam's default
        "model_name_or_path": Text(),
        "pooling": Optional(Registered(POOLERS)),
        "normalize": Optional(Bool()),
        "max_length": Optional(POSITIVE_INT),
        "dense": Optional(ListOf(Fields(DENSE_PARAMS), min_len=0)),
        "lowercase": Optional(Bool()),
        "trainable_layers": Optional(Interval(int, 0)),  # and at most the transformer's layers (freezing.py)
        **LONG_TEXT_PARAMS,
    }

    def __init__(
        self,
        model_name_or_path: str,
        pooling: str | None = None,
        normalize: bool | None = None,
        max_length: int | None = None,
        dense: list[dict[str, Any]] | None = None,
        lowercase: bool | None = None,
        trainable_layers: int | None = None,
        long_text: str = "truncate",
        chunk_overlap: int = 64,
        chunk_pooling: str = "mean",
        max_chunks: int | None = None,
        _folder: Path | None = None,
    ) -> None:
        super().__init__()
        self.check_params(  # before any file is read
            model_name_or_path=model_name_or_path,
            pooling=pooling,
            normalize=normalize,
            max_length=max_length,
            dense=dense,
            lowercase=lowercase,
            trainable_layers=trainable_layers,
            long_text=long_text,
            chunk_overlap=chunk_overlap,
            chunk_pooling=chunk_pooling,
            max_chunks=max_chunks,
        )
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.model_name_or_path = model_name_or_path
        layout = None
        if _folder is None:  # fresh: pretrained weights (a sentence-transformers folder sets the defaults)
            folder = resolve_pretrained(model_name_or_path)
            layout = read_st_folder(folder)
            if layout is not None:
                folder = layout.transformer_dir
                check_transformer_folder(folder)
            # safetensors only: a folder's pickled pytorch_model.bin is never loaded
            self.transformer = AutoModel.from_pretrained(folder, use_safetensors=True)
        else:  # rebuilt from a saved textsiam model: architecture only, the weights come from model.safetensors
            folder = _folder
            self.transformer = AutoModel.from_config(AutoConfig.from_pretrained(folder))
        fast_linears(self.transformer)  # float32 products on oneDNN where MKL is slow (AMD CPUs: layers/linear.py)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self._resolve(layout, pooling, normalize, max_length, lowercase)
        # never past the position table: a longer sequence is a RuntimeError inside the transformer
        positions = getattr(self.transformer.config, "max_position_embeddings", None) or self.max_length
        window = min(self.max_length, positions)
        self.long_text = LongText(long_text, chunk_overlap, chunk_pooling, max_chunks, window)
        self.dense = build_dense_stack(layout.dense if dense is None and layout else dense or [], self.pooled_dim)
        self.trainable_layers = trainable_layers
        # frozen: during a training run each text's output is computed once and kept (exact); the trainer uses
        # this same cache. Outside a run (cache_outputs off) nothing is kept.
        self.output_cache = OutputCache(self._frozen_forward) if trainable_layers == 0 else None
        self._caching = False
        if trainable_layers is not None:
            freeze_transformer(self.transformer, trainable_layers)
            self.dense.requires_grad_(trainable_layers > 0)
        if dense is None and layout and layout.dense:
            load_dense_weights(self.dense, layout.dense_weights)
        # training steps and inference (no gradients) of a plain BERT or an MPNet run unpadded (packed_bert);
        # everything else takes the transformer's forward. Frozen towers in a training run: the output cache.
        self._packable = packable(self.transformer) and self.long_text.mode == "truncate"
        self._packs = self._packable and trainable_layers != 0

    def _resolve(self, st: StLayout | None, pooling, normalize, max_length, lowercase) -> None:
        layout = st or _PLAIN
        self.pooling_name = pooling if pooling is not None else layout.pooling  # None: the folder's own choice
        self.pooler: Pooler = POOLERS.build(self.pooling_name)
        self.normalize = normalize if normalize is not None else layout.normalize
        self.lowercase = lowercase if lowercase is not None else layout.lowercase
        if max_length is None:
            max_length = layout.max_length or (self._st_max_length() if st else 256)
        self.max_length = max_length

    def _st_max_length(self) -> int:
        """sentence-transformers' default without ``max_seq_length``: the tokenizer's limit, capped by positions."""
        positions = getattr(self.transformer.config, "max_position_embeddings", None) or 256
        return int(min(self.tokenizer.model_max_length, positions))

    @property
    def pooled_dim(self) -> int:
        return int(self.transformer.config.hidden_size)

    @property
    def dim(self) -> int:
        return self.dense[-1].linear.out_features if len(self.dense) else self.pooled_dim

    def check_items(self, items: Sequence[Any]) -> None:
        checks.texts(items)

    def collate(self, items: Sequence[str]) -> dict[str, torch.Tensor]:
        self.check_items(items)
        if self.output_cache is not None and self._caching:
            return {"frozen": self.output_cache.get(items)}
        return self.long_text.tokenize(self.tokenizer, self._cased(items))

    def prepare(self, items: Sequence[str]) -> Prepared:
        """Tokenize every distinct text once (a :class:`TokenTable`); batches then only pad their rows. A frozen
        tower (cached outputs) and ``long_text: chunk`` (several windows per text) collate per batch instead."""
        if self.trainable_layers == 0 or self.long_text.mode == "chunk":
            return super().prepare(items)
        self.check_items(items)
        pad = {"input_ids": self.tokenizer.pad_token_id or 0, "token_type_ids": self.tokenizer.pad_token_type_id}
        return TokenTable(items, lambda texts: self.long_text.tokenize(self.tokenizer, self._cased(texts)), pad)

    def checkpoint_layers(self, on: bool) -> None:
        """Per-layer activation checkpointing of the transformer (non-reentrant ``torch.utils.checkpoint``, which
        restores the RNG state, so dropout masks and gradients are the ones without it). Switched per step, hence
        the model's own switch rather than ``gradient_checkpointing_enable`` (which adds an embedding hook each
        call); a model without that switch is left as it is."""
        switch = getattr(self.transformer, "_set_gradient_checkpointing", None)
        if switch is None or not getattr(self.transformer, "supports_gradient_checkpointing", False):
            return
        if on != getattr(self, "_checkpointing", False):
            switch(enable=on, gradient_checkpointing_func=functools.partial(checkpoint, use_reentrant=False))
            self._checkpointing = on

    def _cased(self, texts: Sequence[str]) -> list[str]:
        return [t.lower() for t in texts] if self.lowercase else list(texts)

    def count(self, features: dict[str, torch.Tensor]) -> int:
        if "frozen" in features:
            return features["frozen"].shape[0]
        owner = features.get(CHUNK_OWNER)  # chunked: several windows (rows) per item
        return int(owner.max()) + 1 if owner is not None else features["input_ids"].shape[0]

    def token_counts(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        rows = super().token_counts(features)  # (rows,)
        owner = features.get(CHUNK_OWNER)  # chunked: an item's tokens are those of all its windows
        return rows if owner is None else rows.new_zeros(self.count(features)).index_add_(0, owner, rows)

    def batches(self, items: Sequence[str], batch_size: int) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        """Tokenize the whole chunk in one call, sort by token count, and cut each batch to its own longest row.

        One tokenizer call instead of one per batch, batches of near-equal token counts (less padding than
        sorting by characters), and no per-text Python after tokenization. ``PairModel.encode`` has already
        checked the items. ``long_text: chunk`` (several windows per text) batches by characters instead."""
        if self.long_text.mode == "chunk":
            yield from super().batches(items, batch_size)
            return
        feats = self.long_text.tokenize(
            self.tokenizer, self._cased(items)
        )  # (n, longest), right-padded; warns when cutting
        lengths = feats["attention_mask"].sum(1)  # (n,)
        order = torch.argsort(lengths, descending=True, stable=True)
        for start in range(0, len(items), batch_size):
            idx = order[start : start + batch_size]
            width = int(lengths[idx[0]])
            yield idx, {k: v[idx, :width] for k, v in feats.items()}  # (batch, width) each

    def merge(self, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Pad both token batches to one length and stack them (padding is masked, so embeddings are unchanged)."""
        if "frozen" in a:
            return {"frozen": torch.cat([a["frozen"], b["frozen"]])}
        seq = max(a["input_ids"].shape[1], b["input_ids"].shape[1])
        pad_id = self.tokenizer.pad_token_id or 0

        def pad(t: torch.Tensor, key: str) -> torch.Tensor:  # (batch, len) -> (batch, seq)
            return F.pad(t, (0, seq - t.shape[1]), value=pad_id if key == "input_ids" else 0)

        merged = {k: torch.cat([pad(a[k], k), pad(b[k], k)]) for k in a if k != CHUNK_OWNER}
        if CHUNK_OWNER in a:  # windows of b belong to items numbered after a's
            merged[CHUNK_OWNER] = torch.cat([a[CHUNK_OWNER], b[CHUNK_OWNER] + int(a[CHUNK_OWNER].max()) + 1])
        return merged

    def item_length(self, item: str) -> int:
        return len(item)

    def cache_outputs(self, on: bool) -> None:
        self._caching = on and self.output_cache is not None
        if not on and self.output_cache is not None:
            self.output_cache.store.clear()

    def end_training(self) -> None:
        super().end_training()
        drop_grad_buffers(self)  # the embedding tables' gradient buffers of the unpadded path

    def _frozen_forward(self, texts: list[str]) -> torch.Tensor:
        was_training = self.training
        self.eval()
        tokens = self.long_text.tokenize(self.tokenizer, self._cased(texts))
        device = next(self.transformer.parameters()).device
        out = self.forward({k: v.to(device) for k, v in tokens.items()})
        self.train(was_training)
        return out

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        if "frozen" in features:
            return features["frozen"]
        owner = features.get(CHUNK_OWNER)
        inputs = {k: v for k, v in features.items() if k != CHUNK_OWNER}
        # (rows, seq, hidden); rows = windows when chunked; float32 for pooling even from a bf16 transformer
        tokens = self.hidden_states(inputs).float()
        x = self.pooler(tokens, inputs["attention_mask"])  # (rows, hidden)
        if owner is not None:
            x = self.long_text.pool_windows(x, owner)  # (batch, hidden)
        for layer in self.dense:
            x = layer(x)  # (batch, out_features)
        return F.normalize(x, dim=-1) if self.normalize else x

    def set_inference_dtype(self, dtype: torch.dtype) -> bool:
        self.transformer.to(dtype)  # pooling, Dense and normalisation stay float32 (forward hands them float32)
        return True

    def hidden_states(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The transformer's last hidden states ``(rows, seq, hidden)``: packed (no work on padding) for a training
        step or an inference (no gradients) of a plain BERT or MPNet model, the transformer's own forward otherwise.

        Inference gains where a batch mixes lengths (a service's merged requests: 64 STS-B texts in 190 ms against
        314 ms padded, 2 threads) and loses nothing on length-sorted bulk encoding (2,552 texts: 347 vs 348 /s)."""
        training_step = self._packs and self.training and torch.is_grad_enabled()
        inference = self._packable and not torch.is_grad_enabled() and not tracing()
        if (training_step or inference) and set(inputs) <= _PACKED_INPUTS:
            ids, mask = inputs["input_ids"], inputs["attention_mask"]
            checkpointing = getattr(self, "_checkpointing", False)
            # inference: exactly the real tokens (int8 layers quantize activations over the rows they are given)
            rows = None if training_step else 1
            return packed_forward(self.transformer, ids, mask, inputs.get("token_type_ids"), checkpointing, rows)
        return self.transformer(**inputs).last_hidden_state

    def get_config(self) -> dict[str, Any]:
        return {
            "model_name_or_path": self.model_name_or_path,
            "pooling": self.pooling_name,
            "normalize": self.normalize,
            "max_length": self.max_length,
            "dense": [layer.spec for layer in self.dense],
            "lowercase": self.lowercase,
            **({"trainable_layers": self.trainable_layers} if self.trainable_layers is not None else {}),
            **self.long_text.get_config(),
        }

    def export_parts(self) -> TransformerParts | None:
        if self.long_text.mode != "truncate":  # windows pooled per text: no other library's module does that
            return None
        return TransformerParts(
            transformer=self.transformer,
            tokenizer=self.tokenizer,
            pooling=self.pooling_name,
            pooled_dim=self.pooled_dim,
            max_length=self.long_text.max_length,  # never past the position table (what collate cuts at)
            lowercase=self.lowercase,
            normalize=self.normalize,
            dense=[(layer.linear, layer.spec["activation"]) for layer in self.dense],
        )

    def save_assets(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.transformer.config.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)

    @classmethod
    def from_saved(cls, config: dict[str, Any], folder: Path) -> HfTextEncoder:
        return cls(**config, _folder=folder)
