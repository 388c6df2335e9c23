"""A run folder: which files are a run's own, refusing to replace a run silently, and clearing an old run."""

from __future__ import annotations

import pytest

from textsiam.errors import ConfigError
from textsiam.train.run_folder import check_out_folder, clear_run, run_entries


def _old_run(folder):
    """The files a finished run with a carved dev split and a tuned threshold leaves, plus a killed write's temp."""
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "decision.json", "dev_split.tsv", "train_log.jsonl"):
        (folder / name).write_text("old")
    for name in ("train_summary.json", "train_config.yaml", ".model.safetensors.textsiam-999999-abc.tmp"):
        (folder / name).write_text("old")
    for sub in ("encoder", "checkpoint", "report"):
        (folder / sub).mkdir()
        (folder / sub / "x").write_text("old")
    (folder / "report" / "report.html").write_text("old")
    return folder


def test_an_empty_or_missing_folder_needs_nothing(tmp_path):
    assert check_out_folder(tmp_path / "new", overwrite=False, resume=False) is False
    (tmp_path / "empty").mkdir()
    assert check_out_folder(tmp_path / "empty", overwrite=False, resume=False) is False


def test_a_folder_holding_a_run_is_refused_without_overwrite_and_names_the_flags(tmp_path):
    out = _old_run(tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds a textsiam run") as err:
        check_out_folder(out, overwrite=False, resume=False)
    assert "--overwrite" in str(err.value) and "--resume" in str(err.value) and "config.json" in str(err.value)
    assert check_out_folder(out, overwrite=False, resume=True) is False  # resume continues it: no overwrite
    assert check_out_folder(out, overwrite=True, resume=False) is True


def test_resume_and_overwrite_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        check_out_folder(tmp_path, overwrite=True, resume=True)


def test_overwrite_refuses_a_folder_with_files_textsiam_did_not_write_and_deletes_nothing(tmp_path):
    out = _old_run(tmp_path / "run")
    (out / "my_notes.txt").write_text("mine")
    (out / "data").mkdir()
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ConfigError, match="did not write") as err:
        check_out_folder(out, overwrite=True, resume=False)
    assert "my_notes.txt" in str(err.value) and "data/" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_name_of_ours_of_the_wrong_kind_is_not_ours(tmp_path):
    (tmp_path / "config.json").mkdir()  # a folder where textsiam writes a file: not a run's file
    (tmp_path / "encoder").write_text("a file where textsiam makes a folder")
    (tmp_path / "report").mkdir()  # a user's report folder: textsiam's holds report.html
    (tmp_path / "report" / "q3.pdf").write_text("mine")
    (tmp_path / "README.md").write_text("# my notes on this run\n")  # the user's README: textsiam's card has its mark
    ours, others = run_entries(tmp_path)
    assert ours == [] and sorted(p.name for p in others) == ["README.md", "config.json", "encoder", "report"]


def test_the_card_textsiam_wrote_is_a_run_file(tmp_path):
    from textsiam.models.card import MARK

    (tmp_path / "README.md").write_text(f"---\nlibrary_name: textsiam\n---\n# twin model\n\n{MARK}\n")
    assert [p.name for p in run_entries(tmp_path)[0]] == ["README.md"]


def test_clear_run_removes_every_run_file_config_first(tmp_path, monkeypatch):
    import textsiam.train.run_folder as run_folder

    out = _old_run(tmp_path / "run")
    removed = []
    real_unlink = type(out).unlink

    def unlink(self, missing_ok=False):
        removed.append(self.name)
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(type(out), "unlink", unlink)
    names = run_folder.clear_run(out)
    assert list(out.iterdir()) == []
    assert removed[0] == "config.json"  # from the first deletion on, the folder no longer loads as a model
    assert set(names) >= {"config.json", "model.safetensors", "decision.json", "dev_split.tsv", "checkpoint"}


def test_clear_run_leaves_other_files_alone(tmp_path):
    out = _old_run(tmp_path / "run")
    (out / "keep.txt").write_text("mine")
    clear_run(out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
