"""Reader for COCO captions: ``annotations/captions_SPLIT*.json`` + the image folder ``SPLIT/``."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from textsiam.data.images import CaptionSet, ImagePairData, pairs_from_collection
from textsiam.data.options import ReadOptions
from textsiam.errors import DataError
from textsiam.imaging import file_sha256, load_image
from textsiam.registry import READERS


@READERS.register("coco", patterns=("coco*",), options=("limit", "split", "seed", "skip_bad_rows"))
def read_coco(path: Path, options: ReadOptions) -> ImagePairData:
    """COCO captions folder, split train2017|val2017: (image, caption) pairs, each caption with its own image
    (label 1) and with one shuffled other image (label 0).

    The split's images are those listed in ``annotations/captions_SPLIT.json``; further caption files
    ``captions_SPLIT_*.json`` (e.g. the full official val file) add captions for images on disk the first file
    leaves out. Every image is decoded once here: a missing or corrupt one is an error naming the file, or with
    ``skip_bad_rows`` it is dropped with its captions and counted. ``limit`` keeps the first images.
    """
    split, limit, seed, skip_bad_rows = options.split, options.limit, options.seed or 0, bool(options.skip_bad_rows)
    root = Path(path)
    split = split or "val2017"
    primary = root / "annotations" / f"captions_{split}.json"
    if not primary.is_file():
        raise DataError(f"has no annotations/captions_{split}.json; pass --split train2017 or val2017", path=str(root))
    refs, captions = _collect(root, split, primary)
    if limit is not None:
        refs = refs[:limit]
    refs, skipped = check_images(refs, skip_bad_rows)
    index = {ref: i for i, ref in enumerate(refs)}
    caption_image = [index[ref] for ref, texts in captions.items() if ref in index for _ in texts]
    texts = [t.strip() for ref, group in captions.items() if ref in index for t in group]
    if len(refs) < 2:
        raise DataError(
            f"split {split!r} has {len(refs)} usable captioned images; matching needs at least 2", path=str(root)
        )
    collection = CaptionSet(refs, texts, np.asarray(caption_image, dtype=np.int64))
    data = pairs_from_collection(collection, None, pair_seed=seed, skipped=skipped)
    data.source = str(primary)
    data.sha256 = hashlib.sha256("".join(file_sha256(str(f)) for f in _caption_files(root, split)).encode()).hexdigest()
    return data


def _caption_files(root: Path, split: str) -> list[Path]:
    primary = root / "annotations" / f"captions_{split}.json"
    return [primary, *sorted(p for p in (root / "annotations").glob(f"captions_{split}_*.json"))]


def _collect(root: Path, split: str, primary: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Image references in the primary file's order and ``{reference: [captions]}``."""
    folder = root / split
    refs: list[str] = []
    captions: dict[str, list[str]] = {}
    for n, file in enumerate(_caption_files(root, split)):
        doc = _load_json(file)
        names = {img["id"]: img["file_name"] for img in doc["images"]}
        found: dict[str, list[str]] = {}
        for ann in doc["annotations"]:
            name = names.get(ann["image_id"])
            if name is None:
                raise DataError(
                    f"annotation {ann.get('id')} refers to unknown image id {ann['image_id']}", path=str(file)
                )
            found.setdefault(str(folder / name), []).append(str(ann["caption"]))
        for name in names.values():
            ref = str(folder / name)
            if ref in captions or ref not in found:
                continue
            if n > 0 and not Path(ref).is_file():  # a supplementary file lists many images not in this folder
                continue
            refs.append(ref)
            captions[ref] = found[ref]
    return refs, captions


def _load_json(file: Path) -> dict:
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"is not valid JSON ({err})", path=str(file)) from None
    if not isinstance(doc, dict) or not {"images", "annotations"} <= set(doc):
        raise DataError("is not a COCO captions file (needs 'images' and 'annotations')", path=str(file))
    return doc


def check_images(refs: list[str], skip_bad_rows: bool) -> tuple[list[str], int]:
    """Decode each image once; a bad one is an error, or with ``skip_bad_rows`` dropped and counted (a warning)."""
    good = []
    for ref in refs:
        try:
            load_image(ref)  # decoded once per run; the cache serves training and scoring
        except DataError:
            if not skip_bad_rows:
                raise
            continue
        good.append(ref)
    skipped = len(refs) - len(good)
    if skipped:
        warnings.warn(f"skipped {skipped} missing or unreadable image(s) (--skip-bad-rows)", stacklevel=3)
    return good, skipped
