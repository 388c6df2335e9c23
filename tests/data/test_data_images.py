"""Image readers (mnist, coco, image-csv/tsv), pair sampling from labels, image-level dev carving, hard negatives."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.fixtures import make_coco, make_mnist
from textsiam.api import load_data
from textsiam.data import CaptionSet, ImageSet
from textsiam.data.images import hard_negative_rows
from textsiam.errors import ConfigError, DataError
from textsiam.imaging import load_image


def test_mnist_reader_balanced_pairs_from_labels(tmp_path):
    folder = make_mnist(tmp_path / "mnist")
    data = load_data(folder, split="train", pairs=40, seed=3)
    assert load_data(folder, format="mnist").images.classes.shape == (60,)
    assert len(data) == 40 and data.labels.mean() == 0.5
    classes = {ref: int(load_image(ref)[0, 0]) // 50 for ref in set(data.a) | set(data.b)}
    same = np.array([classes[a] == classes[b] for a, b in zip(data.a, data.b)])
    np.testing.assert_array_equal(same, data.labels == 1)
    assert data.a == load_data(folder, split="train", pairs=40, seed=3).a  # seeded
    assert data.a != load_data(folder, split="train", pairs=40, seed=4).a


def test_mnist_errors(tmp_path):
    folder = make_mnist(tmp_path / "mnist")
    with pytest.raises(ConfigError, match=r"split must be one of \['test', 'train'\], got 'val'"):
        load_data(folder, format="mnist", split="val")
    with pytest.raises(DataError, match="has no t10k-images-idx3-ubyte.gz"):
        load_data(folder, format="mnist", split="test")


def test_dev_fraction_carves_images_not_pairs(tmp_path):
    data = load_data(make_mnist(tmp_path / "mnist", n=100), split="train", pairs=200)
    train, dev = data.split(0.2, seed=0)
    train_images, dev_images = set(train.a) | set(train.b), set(dev.a) | set(dev.b)
    assert not train_images & dev_images
    assert len(dev.images) == 20 and len(train.images) == 80
    assert np.bincount(dev.images.classes).tolist() == [4] * 5  # stratified by class
    assert len(train) + len(dev) == 200 and dev.labels.mean() == 0.5


def test_epoch_pairs_are_fresh_and_hard_negatives_are_nearest_wrong_class(tmp_path):
    data = load_data(make_mnist(tmp_path / "mnist"), split="train", pairs=40)
    assert data.epoch_pairs(1) is data
    assert data.epoch_pairs(2).a != data.a and len(data.epoch_pairs(2)) == 40
    images = ImageSet([f"img{i}" for i in range(12)], np.arange(12) % 3)
    emb = np.random.default_rng(0).normal(size=(12, 4))
    rows = np.array([[i, (i + 1) % 12, 0] for i in range(12)] + [[0, 3, 1]])
    hard = hard_negative_rows(rows, images, emb, seed=0)
    np.testing.assert_array_equal(hard[-1], rows[-1])  # positives untouched
    for i, j, _ in hard[:-1]:
        wrong = [k for k in range(12) if k % 3 != i % 3]
        assert j in wrong
        nearest = min(wrong, key=lambda k: np.sum((emb[k] - emb[i]) ** 2))
        assert j == nearest  # with 12 images a pool of 64 draws covers every candidate


def test_coco_reader_and_caption_pairs(tmp_path, image_files):
    root = make_coco(tmp_path / "coco")
    data = load_data(root, split="train2017", seed=1)
    assert isinstance(data.images, CaptionSet) and len(data.images) == 6 and len(data.images.captions) == 30
    assert len(data) == 60 and data.labels.mean() == 0.5
    cap = {c: i for c, i in zip(data.images.captions, data.images.caption_image)}
    for a, b, y in zip(data.a, data.b, data.labels):
        assert (data.images.refs[cap[b]] == a) == (y == 1)
    assert all(not c.endswith(" ") for c in data.images.captions)
    epoch = data.epoch_pairs(1, in_batch=True)
    assert len(epoch) == 6 and len(set(epoch.a)) == 6 and (epoch.labels == 1).all()
    train, dev = data.split(0.5, seed=0)
    assert not set(train.a) & set(dev.a) and len(dev.images) == 3


def test_coco_bad_image_names_the_file_or_is_skipped(tmp_path, image_files):
    root = make_coco(tmp_path / "coco")
    (root / "train2017" / "img002.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"img002.png: .*not an image"):
        load_data(root, split="train2017")
    with pytest.warns(UserWarning, match="skipped 1"):
        data = load_data(root, split="train2017", skip_bad_rows=True)
    assert data.skipped == 1 and len(data.images) == 5 and len(data.images.captions) == 25


@pytest.mark.parametrize(("suffix", "sep"), [("csv", ","), ("tsv", "\t")])
def test_image_tables_resolve_paths_relative_to_the_file(tmp_path, image_files, suffix, sep):
    files = image_files(3, size=(20, 20))
    table = tmp_path / "sub" / f"pairs.images.{suffix}"
    table.parent.mkdir()
    rel = [f"../{p.split('/')[-2]}/{p.split('/')[-1]}" for p in files]
    table.write_text(f"image_a{sep}image_b{sep}label\n{rel[0]}{sep}{rel[1]}{sep}1\n{rel[1]}{sep}{rel[2]}{sep}0\n")
    data = load_data(table)
    assert [load_image(a).shape for a in data.a] == [(20, 20, 3)] * 2 and data.labels.tolist() == [1.0, 0.0]
    text = tmp_path / f"captions.{suffix}"
    text.write_text(f"image{sep}text\n{files[0]}{sep}a red square\nmissing.png{sep}a cat\n")
    with pytest.raises(DataError, match=r"row 3, column 'image'.*missing.png"):
        load_data(text, format=f"image-{suffix}")
    with pytest.warns(UserWarning, match="skipped 1 row"):
        data = load_data(text, format=f"image-{suffix}", skip_bad_rows=True)
    assert data.b == ["a red square"] and data.skipped == 1 and data.label_kind == "none"


def test_image_options_are_refused_for_text_formats(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("text_a\ttext_b\tlabel\na\tb\t1\n")
    with pytest.raises(ConfigError, match=r"format 'tsv' does not take \['split'\]"):
        load_data(path, split="train")


def test_shared_mnist_and_coco_mini(shared_data):
    mnist = load_data(shared_data / "mnist", split="test")
    assert len(mnist.images) == 10000 and len(mnist) == 20000
    assert np.bincount(mnist.images.classes)[0] == 980
    val = load_data(shared_data / "coco_mini", split="val2017")
    assert (len(val.images), len(val.images.captions)) == (159, 795)  # the full val file fills in 80 images
    train = load_data(shared_data / "coco_mini", format="coco", split="train2017")
    assert (len(train.images), len(train.images.captions)) == (80, 400)
