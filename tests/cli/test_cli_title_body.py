"""FNC-1 from the CLI: train (fit) a tf-idf twin, tune its threshold, evaluate with a report, score a body file;
a stance model's evaluation carries the FNC score and the confusion matrix."""

from __future__ import annotations

import json

from tests.helpers.title_body import write_corpus
from textsiam.cli.main import main


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_tfidf_twin_pipeline_on_fnc1_files(capsys, tmp_path):
    train = write_corpus(tmp_path, "train", seed=0)
    test = write_corpus(tmp_path, "competition_test", n_bodies=12, n_stances=120, seed=1)
    (tmp_path / "competition_test_bodies.csv").rename(tmp_path / "held_out_bodies.csv")
    out = tmp_path / "tfidf"
    code, stdout, err = _run(
        capsys, "train", "--preset", "tfidf-twin", "--train", train, "--dev-fraction", "0.2", "--out", out, "--quiet"
    )
    assert code == 0, err
    assert "trainable_parameters" in stdout and (out / "encoder/tfidf.json").exists()
    code, _, err = _run(capsys, "tune-threshold", "--model", out, "--data", train, "--limit", "100")
    assert code == 0, err
    code, stdout, err = _run(
        capsys, "evaluate", "--model", out, "--data", test, "--bodies", tmp_path / "held_out_bodies.csv",
        "--json", tmp_path / "m.json", "--report", tmp_path / "report",
    )  # fmt: skip
    assert code == 0, err
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n"] == 120 and metrics["roc_auc"] > 0.9 and "accuracy" in metrics
    (tmp_path / "body.txt").write_text("volcano lava eruption island ash lava volcano", encoding="utf-8")
    code, stdout, err = _run(
        capsys, "score", "--model", out, "--a", "Source reports lava eruption", "--b-file", tmp_path / "body.txt"
    )
    assert code == 0, err
    assert stdout.startswith("score: ") and "match: true" in stdout
    code, _, err = _run(capsys, "score", "--model", out, "--a", "x", "--b-file", tmp_path / "missing.txt")
    assert code == 2 and "--b-file: file not found" in err


def test_stance_model_from_a_model_json_reports_fnc_score_and_confusion_matrix(capsys, tmp_path):
    train = write_corpus(tmp_path, "train", seed=0)
    test = write_corpus(tmp_path, "competition_test", n_bodies=12, n_stances=120, seed=1)
    head = {"name": "pair-classifier", "args": {"classes": ["unrelated", "discuss", "agree", "disagree"]}}
    head["args"] |= {"negative": "unrelated", "hidden": 32}
    tower = {"name": "tfidf", "args": {"max_features": 64}}
    config = {"pair_model": "pseudo", "left": tower, "right": tower, "projection_dim": 16, "head": head}
    (tmp_path / "stance.json").write_text(json.dumps({"model": config}))
    (tmp_path / "train.yaml").write_text("loss: cross-entropy\nepochs: 10\nbatch_size: 16\nlr: 0.01\nwarmup_ratio: 0\n")
    code, _, err = _run(
        capsys, "train", "--model", tmp_path / "stance.json", "--config", tmp_path / "train.yaml", "--train", train,
        "--dev-fraction", "0.2", "--out", tmp_path / "stance", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    code, stdout, err = _run(
        capsys, "evaluate", "--model", tmp_path / "stance", "--data", test, "--json", tmp_path / "m.json",
        "--report", tmp_path / "report",
    )  # fmt: skip
    assert code == 0, err
    classes = json.loads((tmp_path / "m.json").read_text())["classes"]
    assert classes["fnc_relative"] > 0.8 and set(classes["per_class"]) == {"unrelated", "discuss", "agree", "disagree"}
    assert sum(map(sum, classes["confusion_matrix"]["rows_gold_cols_predicted"])) == 120
    assert "pred disagree" in stdout and "fnc_relative" in stdout
    html = (tmp_path / "report/report.html").read_text()
    assert "Confusion matrix: rows are gold classes" in html and "gold agree" in html
    code, stdout, err = _run(
        capsys, "score", "--model", tmp_path / "stance", "--a", "Source denies lava ash", "--b", "lava volcano ash"
    )
    assert code == 0, err
    assert "class: " in stdout
