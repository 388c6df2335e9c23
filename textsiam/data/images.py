"""Image collections and the pairs built from them.

Readers of image datasets return :class:`ImagePairData`: pairs of image references (strings that
:mod:`textsiam.imaging` decodes once per run) plus the collection they were drawn from:

- :class:`ImageSet`: labelled images (MNIST digits); pairs are balanced same/different-class pairs as in the
  Keras siamese MNIST example, seeded; training draws fresh pairs each epoch, optionally with hard negatives
  (the nearest wrong-class image in the current embedding).
- :class:`CaptionSet`: images with several captions each (COCO); evaluation pairs are every (image, caption)
  with label 1 plus, per caption, one shuffled other image with label 0; training with an in-batch loss uses one
  caption per image per epoch (each image once per batch, so no caption of it is a false negative).

``split`` carves held-out *images* (not pairs), so no image is on both sides of a train/dev split.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import datasets
import numpy as np

from textsiam.data.digits import balanced_pairs, split_images
from textsiam.data.pairs import PairData
from textsiam.errors import ConfigError

HARD_NEGATIVE_POOL = 64
"""Wrong-class candidates per anchor among which the nearest one becomes the hard negative."""


@dataclass
class ImageSet:
    """Image references with one class label each."""

    refs: list[str]
    classes: np.ndarray

    def __len__(self) -> int:
        return len(self.refs)

    def subset(self, idx: np.ndarray) -> ImageSet:
        return ImageSet([self.refs[i] for i in idx], self.classes[idx])

    def carve(self, fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
        parts = split_images(self.classes, fraction, 0.0, seed)  # stratified by class
        return self.subset(parts["train"]), self.subset(parts["dev"])

    def pair_rows(self, n_pairs: int | None, seed: int) -> np.ndarray:
        """``(n, 3)`` rows ``(i, j, same)``: balanced same/different-class pairs (two per image by default)."""
        return balanced_pairs(np.arange(len(self)), self.classes, n_pairs, np.random.default_rng(seed))


@dataclass
class CaptionSet:
    """Images and their captions: ``caption_image[k]`` is the index of the image caption ``k`` describes."""

    refs: list[str]
    captions: list[str]
    caption_image: np.ndarray

    def __len__(self) -> int:
        return len(self.refs)

    def subset(self, idx: np.ndarray) -> CaptionSet:
        new_index = {int(old): new for new, old in enumerate(idx)}
        keep = [k for k, i in enumerate(self.caption_image) if int(i) in new_index]
        return CaptionSet(
            [self.refs[i] for i in idx],
            [self.captions[k] for k in keep],
            np.asarray([new_index[int(self.caption_image[k])] for k in keep], dtype=np.int64),
        )

    def carve(self, fraction: float, seed: int) -> tuple[CaptionSet, CaptionSet]:
        order = np.random.default_rng(seed).permutation(len(self))
        n_held = int(round(fraction * len(self)))
        if not 0 < n_held < len(self):
            raise ConfigError(f"dev fraction {fraction} of {len(self)} images leaves an empty part")
        return self.subset(np.sort(order[n_held:])), self.subset(np.sort(order[:n_held]))

    def match_rows(self, seed: int) -> np.ndarray:
        """``(2 * captions, 3)`` rows ``(image, caption, match)``: each caption with its image and one other."""
        rng = np.random.default_rng(seed)
        k = np.arange(len(self.captions))
        own = self.caption_image
        other = (own + rng.integers(1, len(self), size=len(k))) % len(self)  # uniform over the other images
        rows = np.concatenate([np.stack([own, k, np.ones_like(k)], 1), np.stack([other, k, np.zeros_like(k)], 1)])
        return rows[rng.permutation(len(rows))]

    def one_caption_rows(self, seed: int) -> np.ndarray:
        """One random caption per image, label 1: ``(images, 3)`` rows ``(image, caption, 1)``."""
        rng = np.random.default_rng(seed)
        rows = []
        for i in rng.permutation(len(self)):
            options = np.flatnonzero(self.caption_image == i)
            if options.size:
                rows.append((i, int(rng.choice(options)), 1))
        return np.asarray(rows, dtype=np.int64)


@dataclass(repr=False)
class ImagePairData(PairData):
    """Pairs drawn from an image collection (``images``), which travels with them for carving and resampling."""

    images: Any = None
    n_pairs: int | None = None
    pair_seed: int = 0
    hard_negatives: bool = False
    skipped: int = 0
    meta: dict = field(default_factory=dict)
    resamples: ClassVar[bool] = True  # labelled images: new pairs each epoch; captions: one caption per image

    @property
    def right_is_text(self) -> bool:
        """True for (image, caption) pairs, False for (image, image) pairs."""
        return isinstance(self.images, CaptionSet) or self.meta.get("right") == "text"

    @property
    def positive_groups(self) -> np.ndarray | None:
        """For (image, caption) pairs: the image of each pair (an index per distinct image reference), so the
        captions of one image are positives of each other; None for (image, image) pairs."""
        if not self.right_is_text:
            return None
        return np.unique(np.asarray(self.a, dtype=object).astype(str), return_inverse=True)[1].astype(np.int64)

    def split(self, fraction: float, seed: int = 0) -> tuple[PairData, PairData]:
        """Carve ``fraction`` of the *images* off (stratified by class for labelled images) and pair each part."""
        if not isinstance(self.images, ImageSet | CaptionSet):
            return super().split(fraction, seed)
        if not 0.0 < fraction < 1.0:
            raise ConfigError(f"split fraction must be strictly between 0 and 1, got {fraction!r}")
        rest, held = self.images.carve(fraction, seed)
        n_rest = n_held = None
        if self.n_pairs is not None:
            n_held = max(2, round(self.n_pairs * fraction))
            n_rest = max(2, self.n_pairs - n_held)
        return (
            pairs_from_collection(rest, self, n_pairs=n_rest, subset_of=len(self.images)),
            pairs_from_collection(held, self, n_pairs=n_held, subset_of=len(self.images), hard_negatives=False),
        )

    def epoch_pairs(self, epoch: int, model: Any = None, in_batch: bool = False) -> PairData:
        """The training pairs of ``epoch`` (1-based): epoch 1 for labelled images is the pairs as read."""
        seed = self.pair_seed * 1000 + epoch
        if isinstance(self.images, CaptionSet) and in_batch:
            return _caption_pairs(self.images, self.images.one_caption_rows(seed), self)
        if not isinstance(self.images, ImageSet) or epoch == 1:
            return self
        rows = self.images.pair_rows(self.n_pairs, seed)
        if self.hard_negatives and model is not None:
            rows = hard_negative_rows(rows, self.images, model.encode(self.images.refs, "left"), seed)
        return _image_pairs(self.images, rows, self)

    def epoch_size(self, in_batch: bool = False) -> int:
        if isinstance(self.images, CaptionSet) and in_batch:
            return len(self.images)
        return len(self)


def caption_groups(data: PairData) -> CaptionSet | None:
    """The images and captions of caption data, grouped by image, for recall@K both ways: a caption reader's
    collection, or an ``image, text`` table with several caption rows for some image (its matching rows: label 1,
    or every row of an unlabelled table). None for other data, or fewer than 2 images."""
    if isinstance(getattr(data, "images", None), CaptionSet):
        return data.images
    if not (isinstance(data, ImagePairData) and data.right_is_text):
        return None
    rows = np.flatnonzero(data.labels >= 0.5) if data.has_labels else np.arange(len(data))
    a, b = data.a, data.b
    index: dict[str, int] = {}
    pairs = {(index.setdefault(a[r], len(index)), b[r]) for r in rows}  # a caption repeated for an image counts once
    pairs = sorted(pairs)
    if len(index) < 2 or len(pairs) <= len(index):
        return None
    return CaptionSet(list(index), [t for _, t in pairs], np.asarray([i for i, _ in pairs], dtype=np.int64))


def pairs_from_collection(images: ImageSet | CaptionSet, like: ImagePairData | None = None, **fields: Any):
    """Pairs of a collection (balanced class pairs, or caption match pairs), with ``like``'s metadata."""
    seed = fields.get("pair_seed", like.pair_seed if like is not None else 0)
    if isinstance(images, ImageSet):
        n_pairs = fields.get("n_pairs", like.n_pairs if like is not None else None)
        data = _image_pairs(images, images.pair_rows(n_pairs, seed), like)
    else:
        data = _caption_pairs(images, images.match_rows(seed), like)
    return replace(data, **fields)


def _image_pairs(images: ImageSet, rows: np.ndarray, like: ImagePairData | None) -> ImagePairData:
    a = [images.refs[i] for i in rows[:, 0]]
    b = [images.refs[j] for j in rows[:, 1]]
    return _build(a, b, rows[:, 2], images, like)


def _caption_pairs(images: CaptionSet, rows: np.ndarray, like: ImagePairData | None) -> ImagePairData:
    a = [images.refs[i] for i in rows[:, 0]]
    b = [images.captions[k] for k in rows[:, 1]]
    return _build(a, b, rows[:, 2], images, like)


def _build(a: list, b: list, labels: np.ndarray, images: Any, like: ImagePairData | None) -> ImagePairData:
    features = datasets.Features(
        {"a": datasets.Value("string"), "b": datasets.Value("string"), "label": datasets.Value("float32")}
    )
    dataset = datasets.Dataset.from_dict({"a": a, "b": b, "label": labels.astype(np.float32)}, features=features)
    data = ImagePairData(dataset, images=images)
    if like is not None:
        keep = ("source", "sha256", "n_pairs", "pair_seed", "hard_negatives", "skipped", "meta", "subset_of")
        data = replace(data, **{k: getattr(like, k) for k in keep})
    return data


def hard_negative_rows(rows: np.ndarray, images: ImageSet, embeddings: Any, seed: int) -> np.ndarray:
    """Replace each negative partner by the nearest wrong-class image (L2 in ``embeddings``) among a random pool
    of :data:`HARD_NEGATIVE_POOL` candidates (a pool, not all images, keeps this linear in the data)."""
    rng = np.random.default_rng(seed)
    emb = np.asarray(embeddings, dtype=np.float32)
    out = rows.copy()
    negatives = np.flatnonzero(rows[:, 2] == 0)
    for start in range(0, negatives.size, 2048):
        r = negatives[start : start + 2048]
        anchors = rows[r, 0]
        pool = rng.integers(len(images), size=(r.size, HARD_NEGATIVE_POOL))  # (n, pool)
        d = ((emb[pool] - emb[anchors][:, None, :]) ** 2).sum(-1)  # (n, pool)
        d[images.classes[pool] == images.classes[anchors][:, None]] = np.inf  # same class: not a negative
        best = np.argmin(d, axis=1)
        found = np.isfinite(d[np.arange(r.size), best])
        out[r[found], 1] = pool[np.arange(r.size), best][found]
    return out
