"""Decode image files (Pillow) and MNIST IDX ``.gz`` files once per process, cached as uint8 arrays.

An image is referred to by a string: a file path (``.../000000000139.jpg``) or an item of an IDX file
(``.../t10k-images-idx3-ubyte.gz#17``). Readers store these references in pair data; image encoders resolve them
here, so each image is decoded once per run however many pairs and epochs use it. The cache holds at most
``CACHE_BYTES`` of decoded pixels (least recently used go first), so a long-running service that sees new image
files all the time stays flat, and a file rewritten on disk is decoded again. Every failure is a
:class:`~textsiam.errors.DataError` naming the file. Nothing here imports torch or other textsiam modules.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np

from textsiam.errors import DataError

IDX_SEPARATOR = "#"
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_ref(path: str | os.PathLike, index: int) -> str:
    """The reference of item ``index`` of an IDX file."""
    return f"{Path(path).resolve()}{IDX_SEPARATOR}{index}"


@functools.lru_cache(maxsize=8)
def read_idx(path: str) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or raw), read-only; cached per path."""
    p = Path(path)
    if not p.is_file():
        raise DataError("IDX file not found; check the folder (it needs the MNIST *-ubyte.gz files)", path=str(p))
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"is not a valid gzip file ({err}); download it again", path=str(p)) from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES:
        raise DataError("is not an IDX file (bad magic number); expected MNIST *-idx?-ubyte(.gz)", path=str(p))
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError("IDX header is truncated", path=str(p))
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"IDX data has {len(raw) - header} bytes, the header {shape} says {expected}; the file is truncated",
            path=str(p),
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    array.setflags(write=False)
    return array


@functools.cache
def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


CACHE_BYTES = 1 << 30  # decoded pixels kept per process: ~1,100 COCO-size photos, every MNIST digit many times
_CACHE: OrderedDict[str, tuple[int | None, np.ndarray]] = OrderedDict()  # ref -> (file mtime_ns, pixels)
_cached_bytes = 0


def load_image(ref: str) -> np.ndarray:
    """A uint8 array ``(H, W)`` (greyscale) or ``(H, W, 3)`` (colour) for a file path or an IDX reference.

    Decoded once and cached while it fits ``CACHE_BYTES`` and its file is unchanged; the array is read-only.
    """
    global _cached_bytes
    stamp = _mtime(ref)
    hit = _CACHE.get(ref)
    if hit is not None and hit[0] == stamp:
        _CACHE.move_to_end(ref)
        return hit[1]
    image = _decode(ref)
    image.setflags(write=False)
    if hit is not None:
        _cached_bytes -= _CACHE.pop(ref)[1].nbytes
    _CACHE[ref] = (stamp, image)
    _cached_bytes += image.nbytes
    while _cached_bytes > CACHE_BYTES and len(_CACHE) > 1:
        _cached_bytes -= _CACHE.popitem(last=False)[1][1].nbytes
    return image


def _mtime(ref: str) -> int | None:
    """A file's modification time (None for an IDX item, whose file is read once per process)."""
    try:
        return os.stat(ref).st_mtime_ns
    except OSError:
        return None


def clear_cache() -> None:
    global _cached_bytes
    _CACHE.clear()
    _cached_bytes = 0


def _decode(ref: str) -> np.ndarray:
    path, sep, index = ref.rpartition(IDX_SEPARATOR)
    if sep and index.isdigit() and not Path(ref).exists():
        images = read_idx(path)
        i = int(index)
        if images.ndim != 3 or not 0 <= i < images.shape[0]:
            raise DataError(f"has no image {i} (shape {images.shape})", path=path)
        return images[i]
    return decode_image_file(ref)


def decode_image_file(path: str | os.PathLike) -> np.ndarray:
    """Decode one image file with Pillow into uint8 ``(H, W)`` or ``(H, W, 3)``; a DataError names the file."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise DataError(
            "image file not found; check the path (paths in a table are relative to the table)", path=str(p)
        )
    try:
        with Image.open(p) as img:
            img.load()
            mode = img.mode
            if mode in ("1", "L", "I;16", "I", "F"):
                img = img.convert("L")
            elif mode != "RGB":
                img = img.convert("RGB")
            array = np.asarray(img, dtype=np.uint8).copy()
    except UnidentifiedImageError:
        raise DataError(
            "is not an image Pillow can read (supported: JPEG, PNG, BMP, GIF, TIFF, WebP, ...); convert it",
            path=str(p),
        ) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"image is corrupt or truncated ({err}); replace the file or skip it", path=str(p)) from None
    return array


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
"""The file suffixes an image folder is scanned for."""


def image_files(folder: Path, flag: str = "--image-dir") -> list[str]:
    """The image files of ``folder`` (by suffix), sorted; the other entries are named in a warning (and in the error
    when there is no image at all). ``flag`` is the option that named the folder, for the messages."""
    import warnings

    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "no such folder"
        raise DataError(f"{flag}: {what}; pass a folder of image files ({', '.join(IMAGE_SUFFIXES)})", path=str(folder))
    entries = sorted(folder.iterdir())
    images = [str(f) for f in entries if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    others = [f.name + ("/" if f.is_dir() else "") for f in entries if str(f) not in images]
    listed = ", ".join(others[:10]) + (f", ... {len(others) - 10} more" if len(others) > 10 else "")
    if not images:
        raise DataError(
            f"{flag}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder"
            + (f"; it holds {listed}" if others else ", it is empty"),
            path=str(folder),
        )
    if others:
        noun = "entry" if len(others) == 1 else "entries"
        warnings.warn(
            f"{flag} {folder}: skipped {len(others)} non-image {noun}: {listed}",
            stacklevel=2,
        )
    return images
