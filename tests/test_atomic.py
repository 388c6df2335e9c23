from __future__ import annotations

import json
import re

import pytest

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


def test_a_folder_where_the_file_should_go_is_an_output_error_naming_both(tmp_path):
    from textsiam.errors import OutputError

    (tmp_path / "taken").mkdir()
    with pytest.raises(OutputError, match=rf"^cannot write {re.escape(str(tmp_path / 'taken'))}: it is a folder"):
        write_json(tmp_path / "taken", {})
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no temp file left behind


def test_a_file_where_a_folder_should_go_is_an_output_error_naming_the_file(tmp_path):
    from textsiam.atomic import atomic_folder, check_folder, make_folder
    from textsiam.errors import OutputError

    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    said = rf"{re.escape(str(blocker))} is a file, not a folder; choose another path$"
    with pytest.raises(OutputError, match=rf"^cannot write {re.escape(str(blocker / 'm.json'))}: {said}"):
        write_json(blocker / "m.json", {})
    for make in (make_folder, check_folder):
        with pytest.raises(OutputError, match=rf"^cannot create the folder {re.escape(str(blocker / 'a' / 'b'))}: "):
            make(blocker / "a" / "b")
    with pytest.raises(OutputError, match=said):
        with atomic_folder(blocker / "export"):
            pass
    with pytest.raises(OutputError, match="already exists and is not an empty folder"):
        with atomic_folder(blocker):
            pass
    assert blocker.read_text() == "x"


def test_an_os_error_while_writing_says_which_file_and_why(tmp_path):
    import errno
    import os

    from textsiam.atomic import atomic_write
    from textsiam.errors import OutputError

    def full_disk(tmp: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError, match=rf"^cannot write {re.escape(str(tmp_path / 'w.bin'))}: No space left"):
        atomic_write(tmp_path / "w.bin", full_disk)
    assert not list(tmp_path.iterdir())
