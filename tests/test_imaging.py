"""Image decoding and IDX reading: values, caching, and errors that name the file."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from PIL import Image

from tests.helpers.fixtures import write_idx
from textsiam import imaging
from textsiam.errors import DataError
from textsiam.imaging import clear_cache, decode_image_file, idx_ref, load_image, read_idx


def test_idx_round_trip_and_references(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / "x-images-idx3-ubyte.gz", images)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "x-images-idx3-ubyte.gz")), images)
    np.testing.assert_array_equal(load_image(idx_ref(tmp_path / "x-images-idx3-ubyte.gz", 2)), images[2])
    with pytest.raises(DataError, match="has no image 3"):
        load_image(idx_ref(tmp_path / "x-images-idx3-ubyte.gz", 3))


def test_idx_errors_name_the_file(tmp_path):
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"not an idx file"))
    with pytest.raises(DataError, match=r"bad.gz.*bad magic"):
        read_idx(str(tmp_path / "bad.gz"))
    array = np.zeros((2, 3, 3), dtype=np.uint8)
    write_idx(tmp_path / "short", array, compress=False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-2])
    with pytest.raises(DataError, match=r"short.*truncated"):
        read_idx(str(tmp_path / "short"))


def test_decode_modes_and_cache(image_files):
    grey = image_files(1, size=(7, 5), mode="L")[0]
    rgb = image_files(1, size=(7, 5), mode="RGB")[0]
    assert decode_image_file(grey).shape == (5, 7)
    assert decode_image_file(rgb).shape == (5, 7, 3)
    clear_cache()
    first = load_image(rgb)
    assert load_image(rgb) is first  # decoded once
    assert not first.flags.writeable


def test_image_cache_is_bounded_and_sees_rewritten_files(image_files, monkeypatch):
    """A long-running service sees new files all the time: the cache keeps a byte budget, oldest out first."""
    files = image_files(3, size=(10, 10), mode="RGB")  # 300 bytes each when decoded
    clear_cache()
    monkeypatch.setattr(imaging, "CACHE_BYTES", 650)
    first = [load_image(f) for f in files]
    assert load_image(files[2]) is first[2] and load_image(files[1]) is first[1]  # the two newest stay
    assert load_image(files[0]) is not first[0]  # pushed out by the budget, decoded again
    np.testing.assert_array_equal(load_image(files[0]), first[0])
    Image.new("RGB", (4, 4), (9, 9, 9)).save(files[1], format="PNG")
    os.utime(files[1], ns=(1, 1))  # a different mtime whatever the file system's resolution
    assert load_image(files[1]).shape == (4, 4, 3)  # the rewritten file is decoded again


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "image file not found"),
        (b"just some text, not pixels", "not an image Pillow can read"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "(corrupt|not an image)"),
    ],
)
def test_bad_images_are_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "photo.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=rf"photo.png: .*{message}"):
        decode_image_file(path)


def test_truncated_jpeg_is_reported(tmp_path, image_files):
    from PIL import Image

    src = image_files(1, size=(64, 64))[0]
    path = tmp_path / "cut.jpg"
    Image.open(src).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"cut.jpg: image is corrupt or truncated"):
        decode_image_file(path)
