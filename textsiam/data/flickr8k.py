"""Reader for Flickr8k: ``images/``, ``Flickr8k.token.txt`` and the split lists ``Flickr_8k.{split}Images.txt``.

The token file holds ``NAME.jpg#k<TAB>caption`` lines (5 captions per image); a split list names one image per
line (LF or CRLF line ends). The data set's one known defect is kept out of the way, not hidden: token lines whose
image is in no split list belong to no split; those that also name no file in ``images/`` (the stray
``2258277193_586949ec62.jpg.1`` entry of the published file) are named in a warning, and a split-listed image
without captions is an error.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np

from textsiam.data.coco import check_images
from textsiam.data.images import CaptionSet, ImagePairData, pairs_from_collection
from textsiam.data.options import ReadOptions
from textsiam.errors import DataError
from textsiam.imaging import file_sha256
from textsiam.registry import READERS

TOKEN_FILE = "Flickr8k.token.txt"
SPLITS = ("train", "dev", "test")
LIST_FILE = "Flickr_8k.{}Images.txt"


@READERS.register(
    "flickr8k",
    patterns=("flickr8k*", "Flickr_8k.*Images.txt"),
    options=("limit", "split", "seed", "skip_bad_rows"),
)
def read_flickr8k(path: Path, options: ReadOptions) -> ImagePairData:
    """Flickr8k folder (``images/``, the token file, the split lists), split train|dev|test, or one split list
    file: (image, caption) pairs, each caption with its own image (label 1) and one shuffled other image (label 0).

    ``--split`` picks the part of the folder (default train); a split list file given as the path is that split.
    Every image is decoded once here (a missing one is an error naming it, or dropped with ``skip_bad_rows``);
    ``limit`` keeps the first images of the list.
    """
    root, split = _root_and_split(Path(path), options.split)
    list_file, token_file = root / LIST_FILE.format(split), root / TOKEN_FILE
    for needed in (list_file, token_file, root / "images"):
        if not needed.exists():
            raise DataError(
                f"Flickr8k needs {needed.name} here (images/, {TOKEN_FILE} and the split lists); see data/README.md",
                path=str(root),
            )
    names = read_split_list(list_file)
    if options.limit is not None:
        names = names[: options.limit]
    captions = read_tokens(token_file)
    _warn_unlisted(root, captions)
    missing = sorted(set(names) - set(captions))
    if missing:
        raise DataError(f"has no caption for {len(missing)} listed image(s), e.g. {missing[0]!r}", path=str(token_file))
    refs, skipped = check_images([str(root / "images" / n) for n in names], bool(options.skip_bad_rows))
    texts, owner = [], []
    for i, ref in enumerate(refs):
        group = captions[Path(ref).name]
        texts.extend(group)
        owner.extend([i] * len(group))
    if len(refs) < 2:
        raise DataError(f"split {split!r} has {len(refs)} usable images; matching needs at least 2", path=str(root))
    collection = CaptionSet(refs, texts, np.asarray(owner, dtype=np.int64))
    data = pairs_from_collection(collection, None, pair_seed=options.seed or 0, skipped=skipped)
    data.source = str(list_file)
    data.sha256 = hashlib.sha256((file_sha256(str(list_file)) + file_sha256(str(token_file))).encode()).hexdigest()
    return data


def _warn_unlisted(root: Path, captions: dict[str, list[str]]) -> None:
    """Name the token file's entries that name no image: in no split list and not in images/ (the published file's
    stray ``2258277193_586949ec62.jpg.1``). Their captions are skipped; listed images are checked when read."""
    listed: set[str] = set()
    for split in SPLITS:
        if (root / LIST_FILE.format(split)).is_file():
            listed.update(read_split_list(root / LIST_FILE.format(split)))
    stray = sorted(n for n in set(captions) - listed if not (root / "images" / n).is_file())
    if stray:
        shown = ", ".join(stray[:3]) + (f", ... {len(stray) - 3} more" if len(stray) > 3 else "")
        warnings.warn(
            f"{root / TOKEN_FILE}: skipped the captions of {len(stray)} entry(ies) naming no image: {shown}",
            stacklevel=3,
        )


def _root_and_split(path: Path, split: str | None) -> tuple[Path, str]:
    if path.is_file():
        named = next((s for s in SPLITS if path.name == LIST_FILE.format(s)), None)
        if named is None:
            raise DataError(
                f"is not a Flickr8k split list ({', '.join(LIST_FILE.format(s) for s in SPLITS)}); pass the "
                "folder holding images/ and the lists, with --split",
                path=str(path),
            )
        if split is not None and split != named:
            raise DataError(f"is the {named!r} split list, but --split {split!r} was given; drop one", path=str(path))
        return path.parent, named
    split = split or "train"
    if split not in SPLITS:
        raise DataError(f"Flickr8k has no split {split!r}; pass --split train, dev or test", path=str(path))
    return path, split


def read_split_list(file: Path) -> list[str]:
    """Image names of a split list, in order (blank lines and CR of CRLF line ends dropped; duplicates refused)."""
    names = [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    seen: set[str] = set()
    for n, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(f"lists image {name!r} twice", path=str(file), row=n)
        seen.add(name)
    return names


def read_tokens(file: Path) -> dict[str, list[str]]:
    """``{image name: [captions in #k order]}`` of every line of the token file."""
    found: dict[str, list[tuple[int, str]]] = {}
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        name, hash_, k = key.strip().rpartition("#")
        if not tab or not hash_ or not k.isdigit() or not caption.strip():
            raise DataError(
                "is not 'NAME.jpg#k<TAB>caption'; check the token file (Flickr8k.token.txt)", path=str(file), row=n
            )
        found.setdefault(name, []).append((int(k), caption.strip()))
    return {name: [c for _, c in sorted(group)] for name, group in found.items()}
