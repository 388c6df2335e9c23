"""The dataset catalogue (textsiam.registry.CATALOG) and `data get`: the contract of every entry, one converter test
per hub dataset on a tiny local copy in the hub's schema (``--from DIR``: the code that runs online too), and the
errors. Nothing here touches the network: the hub is only called in a subprocess with HF_HUB_OFFLINE=1."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textsiam.data import read_pairs
from textsiam.data.catalog import Catalogued
from textsiam.data.fetch import get_dataset
from textsiam.errors import ConfigError, DataError
from textsiam.imaging import read_idx
from textsiam.registry import CATALOG, DATASETS, READERS

ROOT = Path(__file__).parents[2]
A = ["A man is playing a guitar.", "Two dogs run in a field.", 'She said "hello" twice.', "The bus is late."]
B = ["A man plays guitar.", "A cat sleeps on a sofa.", "She greeted them.", "The bus has not come yet."]


@pytest.mark.parametrize("name", CATALOG.names())
def test_contract_every_entry_says_where_it_comes_from_and_how_to_read_it(name):
    entry = CATALOG.get(name)
    assert isinstance(entry, Catalogued) and CATALOG.name_of(entry) == name
    for field in ("title", "origin", "licence", "layout", "read", "manual"):
        assert getattr(entry, field).strip(), f"{name}: empty {field}"
    if entry.embedded:
        assert entry.format in DATASETS and entry.hub is None and entry.convert is None
    else:
        assert entry.format in READERS, f"{name}: format {entry.format!r} is not a reader"
        assert f"--format {entry.format}" in entry.read
        assert (entry.hub is None) == (entry.convert is None), f"{name}: a hub id needs a converter and back"
    assert CATALOG.describe()[name] == entry.title


def test_the_catalogue_holds_every_dataset_of_the_project():
    assert {"stsb", "mrpc", "sick", "fnc1", "mnist", "coco", "flickr8k", "digits"} <= set(CATALOG.names())
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in readme for name in CATALOG.names()), "data/README.md lists every entry"


def _parquet(path: Path, columns: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def _same_pairs(data, a, b, labels) -> None:
    assert list(data.a) == list(a) and list(data.b) == list(b)
    np.testing.assert_allclose(data.labels, labels)


def test_stsb_from_the_hub_parquet_files(tmp_path):
    copy = tmp_path / "copy"
    for split, n in (("train", 4), ("validation", 2), ("test", 3)):
        _parquet(
            copy / "data" / f"{split}-00000-of-00001.parquet",
            {
                "split": [split] * n,
                "genre": ["main-news"] * n,
                "dataset": ["MSRvid"] * n,
                "year": ["2012test"] * n,
                "sid": [f"{i:04d}" for i in range(n)],
                "score": [5.0, 0.25, 3.8, 1.0][:n],
                "sentence1": A[:n],
                "sentence2": B[:n],
            },
        )
    written = get_dataset("stsb", tmp_path / "stsb", from_dir=copy)
    assert [(p.name, rows) for p, rows in written] == [("sts-train.csv", 4), ("sts-dev.csv", 2), ("sts-test.csv", 3)]
    train = read_pairs(tmp_path / "stsb" / "sts-train.csv")
    _same_pairs(train, A, B, [5.0, 0.25, 3.8, 1.0])
    assert train.label_kind == "graded" and train.label_range == (0.0, 5.0)
    _same_pairs(read_pairs(tmp_path / "stsb" / "sts-test.csv"), A[:3], B[:3], [5.0, 0.25, 3.8])


def test_stsb_refuses_a_rescaled_copy_naming_the_missing_columns(tmp_path):
    _parquet(tmp_path / "copy" / "train.parquet", {"sentence1": A, "sentence2": B, "score": [1.0, 0.1, 0.7, 0.2]})
    with pytest.raises(DataError, match=r"split 'train' lacks the column\(s\) \['genre', 'dataset', 'year', 'sid'\]"):
        get_dataset("stsb", tmp_path / "stsb", from_dir=tmp_path / "copy")
    assert not (tmp_path / "stsb").exists()


def _glue_mrpc(test_labels: list[int]) -> datasets.DatasetDict:
    features = datasets.Features(
        {
            "sentence1": datasets.Value("string"),
            "sentence2": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["not_equivalent", "equivalent"]),
            "idx": datasets.Value("int32"),
        }
    )

    def split(a, b, labels):
        return datasets.Dataset.from_dict(
            {"sentence1": a, "sentence2": b, "label": labels, "idx": list(range(len(a)))}, features=features
        )

    return datasets.DatasetDict(
        {
            "train": split(A, B, [1, 0, 1, 1]),
            "validation": split(B[:2], A[:2], [1, 0]),
            "test": split(A[2:], B[2:], test_labels),
        }
    )


def test_mrpc_from_a_save_to_disk_folder(tmp_path):
    _glue_mrpc([0, 1]).save_to_disk(str(tmp_path / "copy"))
    written = get_dataset("mrpc", tmp_path / "mrpc", from_dir=tmp_path / "copy")
    names = ["msr_paraphrase_train.txt", "msr_paraphrase_dev.txt", "msr_paraphrase_test.txt"]
    assert [p.name for p, _ in written] == names
    train = read_pairs(tmp_path / "mrpc" / "msr_paraphrase_train.txt")
    _same_pairs(train, A, B, [1, 0, 1, 1])
    assert train.label_kind == "binary"
    _same_pairs(read_pairs(tmp_path / "mrpc" / "msr_paraphrase_dev.txt"), B[:2], A[:2], [1, 0])
    _same_pairs(read_pairs(tmp_path / "mrpc" / "msr_paraphrase_test.txt"), A[2:], B[2:], [0, 1])


def test_mrpc_skips_an_unlabelled_test_split(tmp_path):
    _glue_mrpc([-1, -1]).save_to_disk(str(tmp_path / "copy"))
    written = get_dataset("mrpc", tmp_path / "mrpc", from_dir=tmp_path / "copy")
    assert [p.name for p, _ in written] == ["msr_paraphrase_train.txt", "msr_paraphrase_dev.txt"]
    assert not (tmp_path / "mrpc" / "msr_paraphrase_test.txt").exists()


def test_sick_from_the_parquet_conversion_layout(tmp_path):
    scores = [4.9, 1.2, 3.5, 2.0]
    _parquet(tmp_path / "copy" / "default" / "test" / "0000.parquet", {"sentence1": A, "sentence2": B, "score": scores})
    written = get_dataset("sick", tmp_path / "sick", from_dir=tmp_path / "copy")
    assert [(p.name, rows) for p, rows in written] == [("sick_test.tsv", 4)]
    data = read_pairs(tmp_path / "sick" / "sick_test.tsv", label_range=(1, 5))
    _same_pairs(data, A, B, scores)
    assert data.label_kind == "graded" and data.label_range == (1.0, 5.0)


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(out, format="PNG")
    return out.getvalue()


def test_mnist_from_the_hub_parquet_files(tmp_path):
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), "test": rng.integers(0, 256, (4, 28, 28))}
    labels = {"train": [0, 1, 2, 0, 1, 2], "test": [3, 4, 3, 4]}
    for split in ("train", "test"):
        pixels = images[split].astype(np.uint8)
        column = [{"bytes": _png(p), "path": None} for p in pixels]
        _parquet(
            tmp_path / "copy" / "mnist" / f"{split}-00000-of-00001.parquet", {"image": column, "label": labels[split]}
        )
    folder = tmp_path / "mnist"
    written = get_dataset("mnist", folder, from_dir=tmp_path / "copy")
    assert [(p.name, rows) for p, rows in written] == [
        ("train-images-idx3-ubyte.gz", 6),
        ("train-labels-idx1-ubyte.gz", 6),
        ("t10k-images-idx3-ubyte.gz", 4),
        ("t10k-labels-idx1-ubyte.gz", 4),
    ]
    for split, stem in (("train", "train"), ("test", "t10k")):
        np.testing.assert_array_equal(read_idx(str(folder / f"{stem}-images-idx3-ubyte.gz")), images[split])
        np.testing.assert_array_equal(read_idx(str(folder / f"{stem}-labels-idx1-ubyte.gz")), labels[split])
    pairs = read_pairs(folder, split="test")  # the folder name detects the format
    assert len(pairs) == 8 and set(pairs.labels) == {0.0, 1.0}


def test_local_copy_errors_name_the_folder_and_the_layout(tmp_path):
    with pytest.raises(DataError, match="is not a folder; --from takes"):
        get_dataset("sick", tmp_path / "out", from_dir=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \.parquet files; put the hub's files of mteb/sickr-sts there as SPLIT"):
        get_dataset("sick", tmp_path / "out", from_dir=tmp_path / "empty")
    datasets.Dataset.from_dict({"sentence1": A}).save_to_disk(str(tmp_path / "one"))
    with pytest.raises(DataError, match="save the DatasetDict"):
        get_dataset("sick", tmp_path / "out", from_dir=tmp_path / "one")
    _parquet(tmp_path / "bad" / "test.parquet", {"sentence1": A, "sentence2": B, "score": [4.0, 9.0, 1.0, 2.0]})
    with pytest.raises(DataError, match=r"split test, row 2, column 'score': score 9.0 is not a number in 1..5"):
        get_dataset("sick", tmp_path / "out", from_dir=tmp_path / "bad")


def test_a_text_with_a_tab_is_an_error_naming_split_row_and_column(tmp_path):
    _parquet(tmp_path / "copy" / "test.parquet", {"sentence1": ["fine", "a\tb"], "sentence2": B[:2], "score": [1, 2]})
    with pytest.raises(DataError, match=r"split test, row 2, column 'sentence1': holds a tab or line break"):
        get_dataset("sick", tmp_path / "out", from_dir=tmp_path / "copy")


@pytest.mark.parametrize("name", [n for n in CATALOG.names() if CATALOG.get(n).hub is None])
def test_datasets_without_a_hub_copy_say_the_manual_route(name, tmp_path):
    entry = CATALOG.get(name)
    if entry.embedded:
        assert get_dataset(name, tmp_path / "out") == []
    else:
        with pytest.raises(ConfigError) as err:
            get_dataset(name, tmp_path / "out")
        message = str(err.value)
        assert "\n" not in message and str(tmp_path / "out") in message and entry.read in message
    assert not (tmp_path / "out").exists()


def test_an_output_path_that_is_a_file_fails_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="is a file, not a folder"):
        get_dataset("sick", tmp_path / "file" / "sick", from_dir=tmp_path / "nowhere")


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: a CLI process's exit code and error line
def test_offline_get_is_one_line_with_the_manual_route(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = tmp_path / "stsb"
    run = subprocess.run(
        [sys.executable, "-m", "textsiam", "data", "get", "stsb", "--to", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("textsiam data: error: stsb: could not fetch mteb/stsbenchmark-sts from the Hugging")
    assert f"put its sts-*.csv files in {out}" in lines[0] and "http://ixa2.si.ehu.eus/stswiki" in lines[0]
    assert "--from DIR" in lines[0] and not out.exists()
