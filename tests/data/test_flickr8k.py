"""The flickr8k reader on a tiny synthetic folder of the same layout (every split, the test one included), its
errors, the stray token entry, and caption grouping of plain image-caption tables; the real dev split when
``$TEXTSIAM_DATA/flickr8k`` is there (the test split is held out: never read here)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.helpers.fixtures import FLICKR8K_SPLIT_SIZES as SPLIT_SIZES
from tests.helpers.fixtures import make_flickr8k
from textsiam.api import load_data
from textsiam.data import CaptionSet
from textsiam.data.images import caption_groups
from textsiam.errors import DataError


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_reads_each_split_of_the_layout(tmp_path, split):
    root, names = make_flickr8k(tmp_path / "flickr8k")
    with pytest.warns(UserWarning, match=r"skipped the captions of 1 entry\(ies\) naming no image: 999_stray"):
        data = load_data(root, split=split, seed=3)
    size = SPLIT_SIZES[split]
    first = list(SPLIT_SIZES).index(split)
    offset = sum(list(SPLIT_SIZES.values())[:first])
    assert isinstance(data.images, CaptionSet) and len(data.images) == size
    assert [r.rsplit("/", 1)[1] for r in data.images.refs] == names[offset : offset + size]
    assert len(data.images.captions) == 5 * size and np.bincount(data.images.caption_image).tolist() == [5] * size
    assert data.images.captions[:2] == [f"picture {offset} caption 0 .", f"picture {offset} caption 1 ."]  # #k order
    assert len(data) == 10 * size and data.labels.mean() == 0.5 and data.source.endswith(f"{split}Images.txt")
    for a, b, y in zip(data.a, data.b, data.labels):  # each caption with its own image (1) and another one (0)
        assert (f"picture {names.index(a.rsplit('/', 1)[1])} " in b) == (y == 1)


def test_a_split_list_file_is_its_split_and_lf_lists_read_the_same(tmp_path):
    root, names = make_flickr8k(tmp_path / "flickr8k", crlf=False, stray=False)
    (root / "images" / "extra.jpg").write_bytes((root / "images" / names[0]).read_bytes())  # a real photo in no list
    with open(root / "Flickr8k.token.txt", "a") as f:
        f.write("extra.jpg#0\tan image of no split\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no entry names a missing image: no warning
        data = load_data(root / "Flickr_8k.devImages.txt")
        folder = load_data(root, format="flickr8k", split="dev")
    assert data.images.refs == folder.images.refs and data.images.captions == folder.images.captions
    with pytest.raises(DataError, match="is the 'dev' split list, but --split 'train'"):
        load_data(root / "Flickr_8k.devImages.txt", split="train")
    with pytest.raises(DataError, match="no split 'val'"):
        load_data(root, split="val")
    assert len(load_data(root, split="train", limit=2).images) == 2


def test_errors_name_the_file(tmp_path):
    root, names = make_flickr8k(tmp_path / "flickr8k", stray=False)
    (root / "images" / names[1]).write_bytes(b"garbage")
    with pytest.raises(DataError, match=rf"{names[1]}: .*not an image"):
        load_data(root, split="train")
    with pytest.warns(UserWarning, match="skipped 1 missing"):
        data = load_data(root, split="train", skip_bad_rows=True)
    assert len(data.images) == 3 and len(data.images.captions) == 15
    token = root / "Flickr8k.token.txt"
    token.write_text(token.read_text().replace(f"{names[5]}#3\t", f"{names[5]}#3 "))
    with pytest.raises(DataError, match=r"Flickr8k.token.txt, row \d+: is not 'NAME.jpg#k<TAB>caption'"):
        load_data(root, split="dev")
    token.write_text("".join(f"{n}#0\tx\n" for n in names[1:]))
    with pytest.raises(DataError, match=f"no caption for 1 listed image.*{names[0]}"):
        load_data(root, split="train")
    (root / "Flickr_8k.testImages.txt").unlink()
    with pytest.raises(DataError, match="needs Flickr_8k.testImages.txt"):
        load_data(root, split="test")


def test_image_caption_tables_group_captions_by_image(tmp_path, image_files):
    files = image_files(3, size=(20, 20))
    table = tmp_path / "caps.images.csv"
    rows = [(files[0], "a", 1), (files[0], "b", 1), (files[1], "c", 1), (files[2], "d", 1), (files[1], "a", 0)]
    table.write_text("image,text,label\n" + "".join(f"{f},{t},{y}\n" for f, t, y in rows))
    groups = caption_groups(load_data(table))
    assert groups.refs == files and groups.captions == ["a", "b", "c", "d"]  # the label-0 row is no caption of it
    assert groups.caption_image.tolist() == [0, 0, 1, 2]
    one_each = tmp_path / "one.images.csv"
    one_each.write_text("image,text\n" + "".join(f"{f},caption {i}\n" for i, f in enumerate(files)))
    assert caption_groups(load_data(one_each)) is None  # one caption per image: pair metrics only, as before


def test_real_dev_split(shared_data):
    root = shared_data / "flickr8k"
    if not root.is_dir():
        pytest.skip(f"{root} not found: put Flickr8k there (data/README.md; research use only)")
    with pytest.warns(UserWarning, match="2258277193_586949ec62.jpg.1"):
        data = load_data(root, split="dev", limit=50)
    assert len(data.images) == 50 and len(data.images.captions) == 250


def test_caption_readers_give_each_pair_its_image_as_group(tmp_path, image_files):
    """flickr8k and image-csv (several rows per image): pairs of one image share a group id, others never do;
    an epoch of one caption per image has every pair in a group of its own; image-image tables have no groups."""
    root, _ = make_flickr8k(tmp_path / "flickr8k", stray=False)
    data = load_data(root, split="train")
    groups, refs = data.positive_groups, np.asarray(data.a)
    assert len(groups) == len(data) == 40 and np.unique(groups).size == 4  # 4 images x (5 matches + 5 shuffled)
    assert ((groups[:, None] == groups[None, :]) == (refs[:, None] == refs[None, :])).all()
    epoch = data.epoch_pairs(1, in_batch=True)  # an in-batch loss: one caption per image per epoch
    assert len(epoch) == 4 and np.unique(epoch.positive_groups).size == 4
    files = image_files(3, size=(20, 20))
    table = tmp_path / "caps.images.csv"
    table.write_text("image,text\n" + "".join(f"{files[i]},caption {k}\n" for k, i in enumerate([2, 0, 2, 1, 0])))
    assert load_data(table).positive_groups.tolist() == [2, 0, 2, 1, 0]  # ids follow the sorted file names
    pairs = tmp_path / "pairs.images.csv"
    pairs.write_text("image_a,image_b,label\n" + f"{files[0]},{files[1]},1\n{files[1]},{files[2]},0\n")
    assert load_data(pairs).positive_groups is None
