"""What evaluate --json and score --pairs write."""

from __future__ import annotations

import json

from textsiam.cli.main import main


def test_evaluate_json_has_brier_and_ece_when_calibrated_and_score_keeps_the_input_columns(
    capsys, tmp_path, tiny_bert_dir
):
    import random

    from tests.helpers.fixtures import WORDS

    rng = random.Random(1)
    rows = []
    for i in range(30):
        a = " ".join(rng.sample(WORDS, 4))
        b = a if i % 2 else " ".join(rng.sample(WORDS, 4))
        rows.append(f"{a}\tq{i}\t{b}\t{i % 2}\tsrc{i % 3}\n")
    data = tmp_path / "pairs.tsv"
    data.write_text("question1\tid\tquestion2\tlabel\tsource\n" + "".join(rows))
    model = tmp_path / "m"
    plain = tmp_path / "plain"
    assert main(["tune-threshold", "--model", str(tiny_bert_dir), "--data", str(data), "--out", str(plain)]) == 0
    assert main(["evaluate", "--model", str(plain), "--data", str(data), "--json", str(tmp_path / "p.json")]) == 0
    assert not {"brier", "ece"} & set(json.loads((tmp_path / "p.json").read_text()))  # not calibrated
    argv = ["tune-threshold", "--model", str(tiny_bert_dir), "--data", str(data), "--calibrate", "platt"]
    assert main([*argv, "--out", str(model), "--quiet"]) == 0
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--json", str(tmp_path / "e.json")]) == 0
    metrics = json.loads((tmp_path / "e.json").read_text())
    assert 0 <= metrics["brier"] <= 1 and 0 <= metrics["ece"] <= 1

    scored = tmp_path / "scored.tsv"
    assert main(["score", "--model", str(model), "--pairs", str(data), "--out", str(scored), "--limit", "10"]) == 0
    lines = scored.read_text().splitlines()
    header = lines[0].split("\t")
    assert header == ["question1", "id", "question2", "label", "source", "score", "match", "probability"]
    assert len(lines) == 11 and [line.split("\t")[1] for line in lines[1:]] == [f"q{i}" for i in range(10)]
    assert {line.split("\t")[6] for line in lines[1:]} <= {"true", "false"}
    capsys.readouterr()


def test_score_renames_an_output_column_the_input_already_has(tmp_path, tiny_bert_dir):
    data = tmp_path / "sts.csv"
    data.write_text("sentence1,sentence2,score\na dog runs,a dog is running,4.5\na red car,the cat eats food,0.5\n")
    out = tmp_path / "scored.tsv"
    assert main(["score", "--model", str(tiny_bert_dir), "--pairs", str(data), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == ["sentence1", "sentence2", "score", "textsiam_score"]
    assert lines[1].split("\t")[2] == "4.5"  # the gold score is kept, not overwritten
