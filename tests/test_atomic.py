"""Atomic writes: JSON clean-up, and faults: a writer SIGKILLed mid-save leaves the old file whole, and its temp
file is swept by the next write into the folder."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback

import pytest
import torch

from textsiam.atomic import remove_stale_temps, write_json
from textsiam.errors import ModelNotFoundError
from textsiam.models import create_model, load_model
from textsiam.models.io import is_model_folder


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


def _killed_save(folder) -> None:
    """Saves the digits twin (seed 1) into ``folder`` in a forked child of this process (its own pid, as a separate
    writer has; no interpreter start), which SIGKILLs itself halfway through writing the weights."""
    import textsiam.models.saving as saving

    def half_then_die(model, path):
        with open(path, "wb") as f:
            f.write(b"\0" * 1000)
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            saving._save_weights = half_then_die
            create_model("digits-mlp-twin", seed=1).save(folder)
        except BaseException:
            traceback.print_exc()  # into this test's captured output
        finally:
            os._exit(1)  # reached only when the save ran to its end or raised: the parent reports it
    deadline = time.monotonic() + 120  # a hang guard, not a timing
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError("the forked save neither finished nor was killed within 120 s")
    assert os.waitstatus_to_exitcode(done[1]) == -signal.SIGKILL, "the save was not killed halfway"


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: file plumbing; torch.equal compares stored bytes
def test_kill_during_a_save_keeps_the_old_model_and_the_next_write_sweeps_the_leftover(tmp_path):
    old = create_model("digits-mlp-twin", seed=0)
    old.save(tmp_path)
    _killed_save(tmp_path)
    leftovers = list(tmp_path.glob(".model.safetensors.textsiam-*.tmp"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size == 1000
    again = load_model(tmp_path)  # still the complete old model, not the half-written one
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in old.state_dict().items())
    write_json(tmp_path / "notes.json", {"n": 1})  # any atomic write into the folder
    assert not leftovers[0].exists()


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: file plumbing after a kill
def test_a_kill_during_the_first_save_leaves_no_model(tmp_path):
    _killed_save(tmp_path)
    assert list(tmp_path.glob(".*.tmp")) and not is_model_folder(tmp_path)
    with pytest.raises(ModelNotFoundError, match="not a textsiam model folder"):
        load_model(tmp_path)


def test_only_temp_files_of_dead_writers_are_removed(tmp_path):
    dead = tmp_path / f".model.safetensors.textsiam-{_dead_pid()}-abc123.tmp"
    live = tmp_path / f".config.json.textsiam-{os.getppid()}-xyz789.tmp"  # the parent process is alive
    others = [tmp_path / ".data.tmp", tmp_path / "model.tmp", tmp_path / ".gitignore"]
    for path in (dead, live, *others):
        path.write_text("x")
    dead_folder = tmp_path / f".export.textsiam-{_dead_pid()}-def456.tmp"  # an atomic_folder of a killed writer
    (dead_folder / "sub").mkdir(parents=True)
    assert sorted(remove_stale_temps(tmp_path)) == sorted([dead, dead_folder])
    assert not dead_folder.exists()
    assert live.exists() and all(p.exists() for p in others)


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: file plumbing after a kill
def test_a_save_killed_before_the_new_decision_leaves_no_old_decision(tmp_path):
    from textsiam.eval.decision import Decision

    old = create_model("digits-mlp-twin", seed=0)
    old.decision = Decision(strategy="youden", threshold=0.5)
    old.save(tmp_path)
    assert load_model(tmp_path).decision is not None
    _killed_save(tmp_path)  # a model without a decision, killed while writing its weights
    assert load_model(tmp_path).decision is None  # no threshold tuned for other weights survives
