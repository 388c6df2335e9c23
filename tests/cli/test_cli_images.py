"""Image workflows from the command line: train/evaluate on an MNIST-format folder, the seed-style report,
and `score --image/--text` ranking for a caption-image model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.fixtures import BATCHED, make_mnist
from textsiam.cli.main import main
from textsiam.encoders import CnnEncoder, HfTextEncoder
from textsiam.models import PseudoSiameseModel, load_model


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_evaluate_report_on_mnist_folder(capsys, tmp_path):
    folder = make_mnist(tmp_path / "mnist", n=80)
    make_mnist(folder, n=40, split="test")
    out = tmp_path / "run"
    code, stdout, err = _run(
        capsys, "train", "--preset", "mnist-cnn-twin", "--train", folder, "--split", "train", "--pairs", "120",
        "--dev-fraction", "0.25", "--epochs", "2", "--threshold-strategy", "youden", "--out", out, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "carved" in stdout + err and (out / "dev_split.images.tsv").exists()
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    epochs = [r for r in log if r["type"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2] and all("dev_pair_accuracy" in r for r in epochs)
    code, stdout, err = _run(
        capsys, "tune-threshold", "--model", out, "--data", out / "dev_split.images.tsv", "--format", "image-tsv"
    )
    assert code == 0, err
    report = tmp_path / "report"
    code, stdout, err = _run(
        capsys, "evaluate", "--model", out, "--data", folder, "--split", "test", "--json", tmp_path / "m.json",
        "--report", report,
    )  # fmt: skip
    assert code == 0, err
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n"] == 80 and 0 <= metrics["accuracy"] <= 1
    html = (report / "report.html").read_text()
    assert "Test pairs" in html and "right and" in html
    for png in ("pair_grid.png", "epoch_curves.png"):
        assert (report / png).stat().st_size > 1000


def test_score_ranks_captions_for_an_image_and_images_for_a_caption(capsys, tmp_path, tiny_bert_dir, image_files):
    import torch

    torch.manual_seed(0)
    model = PseudoSiameseModel(CnnEncoder(image={"size": 28}), HfTextEncoder(str(tiny_bert_dir)), projection_dim=8)
    model.save(tmp_path / "m")
    model = load_model(tmp_path / "m")
    files = image_files(3, size=(30, 30), mode="L")
    texts = ["a red car", "a dog runs in the park", "two children read a book"]
    code, out, err = _run(
        capsys, "score", "--model", tmp_path / "m", "--image", files[0], *sum([["--text", t] for t in texts], [])
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("texts ranked for:") and len(lines) == 2 + 1 + 3
    expected = model.similarity_scores([files[0]] * 3, texts)
    ranked_scores = [float(line.split()[1]) for line in lines[3:]]
    # printed with enough digits; the CLI scores in its own batches: BATCHED (helpers/fixtures.py)
    np.testing.assert_allclose(ranked_scores, sorted(expected, reverse=True), atol=BATCHED)
    code, out, err = _run(
        capsys, "score", "--model", tmp_path / "m", "--text", texts[1], "--image-dir", files[0].rsplit("/", 1)[0]
    )
    assert code == 0, err and "images ranked for: a dog runs" in out and out.count(".png") == 3
    code, out, err = _run(
        capsys,
        "score",
        "--model",
        tmp_path / "m",
        "--image",
        files[0],
        "--image",
        files[1],
        "--text",
        "a",
        "--text",
        "b",
    )
    assert code == 2 and "give one --image" in err


@pytest.mark.parametrize("bad", ["missing.png", "corrupt"])
def test_bad_image_on_the_command_line_names_the_file(capsys, tmp_path, tiny_bert_dir, bad):
    model = PseudoSiameseModel(CnnEncoder(image={"size": 28}), HfTextEncoder(str(tiny_bert_dir)), projection_dim=8)
    model.save(tmp_path / "m")
    path = tmp_path / ("missing.png" if bad == "missing.png" else "corrupt.jpg")
    if bad == "corrupt":
        path.write_bytes(b"\xff\xd8\xff not really a jpeg")
    code, _, err = _run(capsys, "score", "--model", tmp_path / "m", "--image", path, "--text", "a cat")
    assert code == 2 and path.name in err


def test_search_a_folder_of_images_with_caption_queries(capsys, tmp_path, tiny_bert_dir, image_files):
    import torch

    torch.manual_seed(0)
    model = PseudoSiameseModel(CnnEncoder(image={"size": 28}), HfTextEncoder(str(tiny_bert_dir)), projection_dim=8)
    model.save(tmp_path / "m")
    model = load_model(tmp_path / "m")
    files = image_files(4, size=(30, 30), mode="L")
    queries = tmp_path / "captions.txt"
    texts = ["a red car", "a dog runs in the park"]
    queries.write_text("\n".join(texts) + "\n")
    out_file = tmp_path / "hits.jsonl"
    folder = files[0].rsplit("/", 1)[0]
    args = ["search", "--model", tmp_path / "m", "--corpus", folder, "--queries", queries, "--top-k", 3]
    code, _, err = _run(capsys, *args, "--output", out_file, "--index", tmp_path / "idx")
    assert code == 0, err
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["query"] for r in rows] == texts
    for row, text in zip(rows, texts):  # the images ranked by the model's own caption-image scores
        expected = model.similarity_scores(files, [text] * 4)
        best = np.argsort(-expected, kind="stable")[:3]
        assert [h["id"] for h in row["results"]] == [files[i].rsplit("/", 1)[1] for i in best]
        # the CLI encodes in its own batches: BATCHED (helpers/fixtures.py)
        np.testing.assert_allclose([h["score"] for h in row["results"]], expected[best], atol=BATCHED)
    assert json.loads((tmp_path / "idx" / "index.json").read_text())["side"] == "left"  # the image tower's side
    code, _, err = _run(
        capsys,
        "search",
        "--model",
        tmp_path / "m",
        "--index",
        tmp_path / "idx",
        "--queries",
        queries,
        "--output",
        out_file,
    )
    assert code == 0, err and len(out_file.read_text().splitlines()) == 2  # the saved image index is reused
