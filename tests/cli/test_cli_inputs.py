"""Bad inputs to the CLI: each is a one-line error (exit 2) naming the option, file or value; anything that is not
textsiam's own error type is a bug and keeps its traceback."""

from __future__ import annotations

import argparse

import pytest

from textsiam.cli.main import build_parser, main


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("text_a\ttext_b\tlabel\na dog runs\ta dog is running\t1\na red car\tthe cat eats food\t0\n")
    return path


@pytest.mark.parametrize("size", [-1, 0])
def test_score_rejects_a_batch_size_below_one(capsys, tmp_path, pairs_file, tiny_bert_dir, size):
    out = tmp_path / "scored.tsv"
    code, _, err = _run(
        capsys, "score", "--model", tiny_bert_dir, "--pairs", pairs_file, "--batch-size", size, "--out", out
    )
    line = _one_line_error(err)
    assert code == 2 and "--batch-size" in line and repr(size) in line
    assert not out.exists()  # before: a header-only file and exit 0


@pytest.mark.parametrize("command", ["evaluate", "score", "tune-threshold", "train"])
def test_device_tpu_is_a_one_line_error_on_every_command(capsys, tmp_path, pairs_file, command):
    argv = {
        "train": ["--preset", "digits-mlp-twin", "--train", "digits:train", "--out", tmp_path / "m"],
        "score": ["--model", "digits-mlp-twin", "--pairs", pairs_file],
    }.get(command, ["--model", "digits-mlp-twin", "--data", pairs_file])
    code, _, err = _run(capsys, command, *argv, "--device", "tpu")
    line = _one_line_error(err)
    assert code == 2 and "'tpu'" in line and "cpu" in line


def test_device_cuda_without_a_cuda_build_is_a_one_line_error(capsys, monkeypatch, pairs_file):
    import torch

    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = _run(capsys, "evaluate", "--model", "digits-mlp-twin", "--data", pairs_file, "--device", "cuda")
    line = _one_line_error(err)
    assert code == 2 and "no CUDA support" in line and "use cpu" in line


def test_device_cuda_with_a_cuda_build_but_no_device_is_a_one_line_error(capsys, monkeypatch, pairs_file):
    import torch

    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = _run(capsys, "score", "--model", "digits-mlp-twin", "--pairs", pairs_file, "--device", "cuda:0")
    assert code == 2 and "no CUDA device is visible" in _one_line_error(err)


def test_invalid_yaml_in_config_names_the_file_and_line(capsys, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("preset: digits-mlp-twin\nepochs: [2\nlr: 0.1\n")
    code, _, err = _run(capsys, "train", "--config", cfg, "--train", "digits:train", "--out", tmp_path / "m")
    line = _one_line_error(err)
    assert code == 2 and str(cfg) in line and "line 3" in line and "invalid YAML" in line


def test_config_file_that_is_missing_or_not_a_mapping(capsys, tmp_path):
    code, _, err = _run(capsys, "train", "--config", tmp_path / "nope.yaml", "--out", tmp_path / "m")
    assert code == 2 and "nope.yaml: config file not found" in _one_line_error(err)
    cfg = tmp_path / "list.yaml"
    cfg.write_text("- 1\n- 2\n")
    code, _, err = _run(capsys, "train", "--config", cfg, "--out", tmp_path / "m")
    assert code == 2 and "list.yaml: expected a mapping" in _one_line_error(err)


def test_names_are_checked_before_any_data_is_read(capsys, tmp_path):
    missing = tmp_path / "not-there.tsv"  # reading it would fail with 'file not found'
    base = ["train", "--preset", "digits-mlp-twin", "--train", missing, "--out", tmp_path / "m"]
    code, _, err = _run(capsys, *base, "--loss", "contrastiv")
    line = _one_line_error(err)
    assert code == 2 and "contrastiv" in line and "not found" not in line
    code, _, err = _run(capsys, "train", "--preset", "digits-mlp-twn", "--train", missing, "--out", tmp_path / "m")
    assert code == 2 and "digits-mlp-twn" in _one_line_error(err)
    for flag, value in (("--threshold-strategy", "younden"), ("--calibrate", "plat"), ("--format", "xlsx")):
        with pytest.raises(SystemExit) as exit_info:  # argparse, with the choices from the registry
            main([str(a) for a in [*base, flag, value]])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and value in err and "invalid choice" in err
    assert not (tmp_path / "m").exists()


def test_a_missing_data_file_is_a_clean_error(capsys, tmp_path):
    code, _, err = _run(capsys, "evaluate", "--model", "digits-mlp-twin", "--data", tmp_path / "nope.tsv")
    assert code == 2 and "nope.tsv" in _one_line_error(err) and "file not found" in err


def test_an_error_that_is_not_textsiams_keeps_its_traceback(monkeypatch):
    import textsiam.cli.listing as listing

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(listing, "run", broken)
    with pytest.raises(KeyError, match="a bug"):
        main(["list"])


def test_no_arguments_prints_the_help(capsys):
    code, out, _ = _run(capsys)
    assert code == 0 and "usage: textsiam" in out and "train" in out and "evaluate" in out


def _subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_every_train_option_has_help_with_its_default_and_no_rest_markup():
    parser = _subparser("train")
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, action.dest
        assert "default" in action.help or "required" in action.help, action.dest
    text = " ".join(parser.format_help().split())
    assert "``" not in text and "(default: the preset's, else 2e-05)" in text
    for name in ("contrastive", "youden", "isotonic", "jsonl"):  # choices from the registries
        assert name in text


@pytest.mark.parametrize("command", ["evaluate", "score", "tune-threshold", "train"])
def test_commands_that_run_a_model_take_device_and_quiet(command):
    flags = {s for a in _subparser(command)._actions for s in a.option_strings}
    assert {"--device", "--quiet"} <= flags
    assert "``" not in _subparser(command).format_help()
    (model_help,) = [a.help for a in _subparser(command)._actions if "--model" in a.option_strings]
    assert "model .json file" in model_help and "saved model folder" in model_help


def test_train_and_evaluate_take_a_model_json_file(capsys, tmp_path):
    import json

    from textsiam.models.io import preset_config

    spec = tmp_path / "model.json"
    spec.write_text(json.dumps({"model": {**preset_config("digits-mlp-twin")["model"], "projection_dim": 5}}))
    run = ["train", "--model", spec, "--train", "digits:train", "--limit", "40", "--epochs", "1", "--quiet"]
    code, _, err = _run(capsys, *run, "--out", tmp_path / "run")
    assert code == 0, err
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["pair_model"] == "twin" and saved["projection_dim"] == 5  # built from the file, not the preset
    code, out, err = _run(capsys, "evaluate", "--model", spec, "--data", "digits:test", "--limit", "20", "--quiet")
    assert code == 0 and "roc_auc" in out, err


def test_quiet_silences_the_transformers_weight_loading_bar(capsys, tiny_bert_dir):
    from transformers.utils import logging as hf_logging

    from textsiam.models.io import create_model

    hf_logging.enable_progress_bar()
    try:
        create_model(str(tiny_bert_dir))
        assert "Loading weights" in capsys.readouterr().err  # the bar this test is about
        code, out, err = _run(capsys, "score", "--model", tiny_bert_dir, "--a", "a dog", "--b", "a cat", "--quiet")
        assert code == 0 and "score:" in out and "Loading weights" not in err
    finally:  # global switches: leave them as other tests expect
        hf_logging.enable_progress_bar()
        hf_logging.set_verbosity_warning()


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--model", "digits-mlp-twin", "--data", "digits:test", "--limit", "20", "--json", "{folder}"],
        ["evaluate", "--model", "digits-mlp-twin", "--data", "digits:test", "--limit", "20", "--json", "{file}/m.json"],
        ["evaluate", "--model", "digits-mlp-twin", "--data", "digits:test", "--report", "{file}"],
        ["score", "--model", "digits-mlp-twin", "--pairs", "digits:test", "--limit", "5", "--out", "{folder}"],
        ["tune-threshold", "--model", "digits-mlp-twin", "--data", "digits:dev", "--out", "{file}/copy"],
        ["train", "--preset", "digits-mlp-twin", "--train", "{folder}/missing.tsv", "--out", "{file}"],
    ],
    ids=["json-folder", "json-under-file", "report-file", "score-out-folder", "tune-out-under-file", "train-out-file"],
)
def test_an_output_path_that_cannot_be_written_is_a_one_line_error(capsys, tmp_path, argv):
    file = tmp_path / "taken.txt"
    file.write_text("keep me")
    argv = [a.format(folder=tmp_path, file=file) for a in argv]
    code, _, err = _run(capsys, *argv, "--quiet")
    line = _one_line_error(err)
    assert code == 2, line
    assert "cannot " in line and (f"{tmp_path}: it is a folder" in line or f"{file} is a file, not a folder" in line)
    assert file.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["taken.txt"]


def test_list_help_names_every_registry_kind():
    from textsiam.registry import ALL_REGISTRIES

    text = " ".join(_subparser("list").format_help().split())
    assert all(kind in text for kind in ALL_REGISTRIES), text


def test_export_formats_come_from_the_registry(capsys):
    from textsiam.registry import EXPORTERS

    text = " ".join(_subparser("export").format_help().split())
    assert all(name in text for name in EXPORTERS) and "textsiam list exporters" in text
    with pytest.raises(SystemExit) as stop:  # refused while parsing: the model is never loaded
        main(["export", "--model", "no-such-model", "--format", "tflite", "--out", "unused"])
    assert stop.value.code == 2 and "invalid choice: 'tflite'" in capsys.readouterr().err
    code, out, _ = _run(capsys, "list", "exporters")
    assert code == 0 and all(f"  {name}" in out and EXPORTERS.describe()[name] in out for name in EXPORTERS)


# -- issue #17: the library and the CLI -------------------------------------------------------------------------------
def _train(tmp_path, tiny_bert_dir, pairs_file, out, *extra):
    return ["train", "--model", tiny_bert_dir, "--train", pairs_file, "--out", out, "--epochs", "1", "--quiet", *extra]


def test_train_into_a_folder_holding_a_run_is_refused_unless_overwrite(capsys, tmp_path, pairs_file, tiny_bert_dir):
    out = tmp_path / "m"
    pairs_file.write_text(pairs_file.read_text() + "".join(pairs_file.read_text().splitlines(keepends=True)[1:]) * 3)
    assert main([str(a) for a in _train(tmp_path, tiny_bert_dir, pairs_file, out, "--dev-fraction", "0.5")]) == 0
    capsys.readouterr()
    kept = (out / "dev_split.tsv").read_bytes()
    code, _, err = _run(capsys, *_train(tmp_path, tiny_bert_dir, pairs_file, out))
    line = _one_line_error(err)  # before: exit 0, the old dev_split.tsv left beside the new model
    assert code == 2 and f"{out} already holds a textsiam run" in line and "--overwrite" in line
    assert (out / "dev_split.tsv").read_bytes() == kept
    code, _, err = _run(capsys, *_train(tmp_path, tiny_bert_dir, pairs_file, out, "--overwrite"))
    assert code == 0 and f"removing the old run in {out} (--overwrite): config.json, " in err  # says what it deletes
    assert not (out / "dev_split.tsv").exists() and (out / "config.json").exists()


@pytest.mark.parametrize("seed", ["-1", str(2**70)])
def test_a_seed_outside_numpys_range_is_a_one_line_error(capsys, tmp_path, pairs_file, tiny_bert_dir, seed):
    code, _, err = _run(capsys, *_train(tmp_path, tiny_bert_dir, pairs_file, tmp_path / "m", "--seed", seed))
    line = _one_line_error(err)  # before: ValueError tracebacks from numpy / torch
    assert code == 2 and f"got {seed}" in line and "--seed" in line and "2**32 - 1" in line
    assert not (tmp_path / "m").exists()
    code, _, err = _run(capsys, "tune-threshold", "--model", tiny_bert_dir, "--data", pairs_file, "--seed", seed)
    assert code == 2 and f"got {seed}" in _one_line_error(err)


def test_dev_with_dev_fraction_is_a_one_line_error(capsys, tmp_path, pairs_file, tiny_bert_dir):
    argv = _train(tmp_path, tiny_bert_dir, pairs_file, tmp_path / "m", "--dev", pairs_file, "--dev-fraction", "0.3")
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "dev pairs given twice" in _one_line_error(err)  # before: --dev-fraction ignored


def test_amp_on_cpu_warns_only_where_bf16_is_emulated(capsys, tmp_path, monkeypatch):
    from textsiam.deploy import precision

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))  # native bf16
    argv = ["train", "--preset", "digits-mlp-twin", "--train", "digits:train", "--limit", "100", "--epochs", "1"]
    code, _, err = _run(capsys, *argv, "--out", tmp_path / "m", "--amp", "--device", "cpu", "--quiet")
    assert code == 0 and "warning" not in err  # before: "--amp ... on cpu it does nothing" (CPU autocast since)
    assert "amp: true" in (tmp_path / "m" / "train_config.yaml").read_text()
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))  # emulated: slower than float32
    code, _, err = _run(capsys, *argv, "--out", tmp_path / "e", "--amp", "--device", "cpu", "--quiet")
    assert code == 0 and "textsiam train: warning: --amp (bfloat16 autocast): this CPU has none of avx512_bf16" in err
    assert "trains slower than float32; drop --amp" in err


def test_dev_equal_to_train_warns_and_does_not_call_its_accuracy_held_out(capsys, tmp_path, pairs_file, tiny_bert_dir):
    argv = _train(tmp_path, tiny_bert_dir, pairs_file, tmp_path / "m", "--dev", pairs_file)
    code, out, err = _run(capsys, *argv, "--threshold-strategy", "youden")
    assert code == 0 and "textsiam train: warning: the dev pairs" in err and "same sha256" in err
    assert "NOT held-out (dev = training pairs) accuracy" in out


@pytest.mark.parametrize("flag", ["--image", "--image-dir"])
def test_image_files_given_to_a_text_model_are_refused_naming_the_tower(capsys, tmp_path, tiny_bert_dir, flag):
    from tests.helpers.fixtures import write_images

    folder = tmp_path / "imgs"
    image = write_images(folder, 1, (8, 8))[0]
    (folder / "notes.txt").write_text("not an image")
    code, out, err = _run(
        capsys, "score", "--model", tiny_bert_dir, "--text", "a dog", flag, image if flag == "--image" else folder
    )
    lines = err.strip().splitlines()  # before: a ranked table of 0.0-ish scores and exit 0
    assert code == 2 and out == "" and "left tower (hf-transformer) reads texts, not images" in lines[-1]
    assert lines[-1].startswith("textsiam score: error: " + flag)
    if flag == "--image-dir":
        assert lines[0] == f"textsiam score: warning: --image-dir {folder}: skipped 1 non-image entry: notes.txt"


def test_an_image_dir_that_is_missing_or_holds_no_image_names_what_it_holds(capsys, tmp_path, tiny_bert_dir):
    argv = ["score", "--model", tiny_bert_dir, "--text", "a dog", "--image-dir"]
    code, _, err = _run(capsys, *argv, tmp_path / "nope")
    assert code == 2 and "--image-dir: no such folder" in _one_line_error(err)  # before: FileNotFoundError
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    code, _, err = _run(capsys, *argv, tmp_path / "docs")
    assert code == 2 and "no image files" in _one_line_error(err) and "it holds a.txt" in err


def test_encode_of_a_latin1_file_names_the_line(capsys, tmp_path, tiny_bert_dir):
    path = tmp_path / "texts.txt"
    path.write_bytes("a dog\ncaf\xe9\n".encode("latin-1"))
    code, _, err = _run(capsys, "encode", "--model", tiny_bert_dir, "--input", path, "--output", tmp_path / "e.npy")
    line = _one_line_error(err)  # before: UnicodeDecodeError traceback
    assert code == 2 and f"{path}: line 2 is not valid UTF-8 (byte 0xe9" in line and not (tmp_path / "e.npy").exists()


def test_score_out_onto_its_own_pairs_file_is_refused_and_the_file_kept(capsys, pairs_file, tiny_bert_dir):
    before = pairs_file.read_bytes()
    code, _, err = _run(capsys, "score", "--model", tiny_bert_dir, "--pairs", pairs_file, "--out", pairs_file)
    line = _one_line_error(err)  # before: exit 0 and the pairs file replaced by the scored copy
    assert code == 2 and "is the --pairs file itself" in line and pairs_file.read_bytes() == before


@pytest.mark.parametrize("command", ["score", "serve"])
def test_a_config_json_that_no_longer_matches_the_weights_is_one_line(capsys, tmp_path, tiny_bert_dir, command):
    import json

    from textsiam.models import create_model

    create_model(str(tiny_bert_dir), projection_dim=16).save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "projection_dim": 8}))
    extra = ["--a", "x", "--b", "y"] if command == "score" else ["--port", "1"]
    code, _, err = _run(capsys, command, "--model", tmp_path / "m", *extra)
    line = _one_line_error(err)  # before: RuntimeError "size mismatch for projection.weight" traceback
    assert code == 2 and "does not match" in line and "[16, 32] in the weights but [8, 32]" in line
