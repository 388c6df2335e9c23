from __future__ import annotations

import json

from textsiam.atomic import write_json


def test_write_json_turns_non_finite_numbers_into_null(tmp_path):
    path = write_json(tmp_path / "m.json", {"spearman": float("nan"), "n": 3, "ci": [1.0, float("inf")]})
    assert json.loads(path.read_text()) == {"spearman": None, "n": 3, "ci": [1.0, None]}
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind


def test_atomic_files_get_the_mode_of_a_plainly_written_file_even_when_the_writer_recreates_it(tmp_path):
    import os

    import torch
    from safetensors.torch import save_model

    from textsiam.atomic import atomic_write

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    weights = atomic_write(tmp_path / "model.safetensors", lambda tmp: save_model(torch.nn.Linear(2, 2), tmp))
    config = write_json(tmp_path / "config.json", {})
    modes = {p.name: os.stat(p).st_mode & 0o777 for p in (plain, weights, config)}
    assert len(set(modes.values())) == 1, modes  # safetensors recreates the temp file with 0600
    os.chmod(weights, 0o640)
    atomic_write(weights, lambda tmp: save_model(torch.nn.Linear(2, 2), tmp))
    assert os.stat(weights).st_mode & 0o777 == 0o640  # an existing file keeps its mode
