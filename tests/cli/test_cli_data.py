"""`textsiam data list` and `textsiam data get` from the command line (offline: a local copy with --from)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from textsiam.cli.main import main
from textsiam.data import read_pairs
from textsiam.registry import CATALOG


def test_data_list_prints_every_catalogue_entry_with_its_source_and_reader(capsys):
    assert main(["data", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "dataset", "get", "from", "read", "with"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert sorted(rows) == CATALOG.names()
    for name, line in rows.items():
        entry = CATALOG.get(name)
        assert entry.source in line and entry.read in line
    assert "mteb/stsbenchmark-sts" in rows["stsb"] and "manual" in rows["fnc1"] and "embedded" in rows["digits"]


def test_data_get_from_a_local_copy_writes_files_the_reader_reads(capsys, tmp_path):
    copy = tmp_path / "copy" / "test.parquet"
    copy.parent.mkdir()
    pq.write_table(pa.table({"sentence1": ["a b", "c d"], "sentence2": ["a c", "e f"], "score": [4.5, 1.0]}), copy)
    out = tmp_path / "sick"
    assert main(["data", "get", "sick", "--to", str(out), "--from", str(copy.parent), "--quiet"]) == 0
    stdout, stderr = capsys.readouterr()
    assert stdout.strip() == f"wrote {out / 'sick_test.tsv'} (2 rows)"
    assert "--label-range 1 5" in stderr
    data = read_pairs(out / "sick_test.tsv", label_range=(1, 5))
    assert list(data.a) == ["a b", "c d"] and list(data.labels) == [4.5, 1.0]


def test_data_get_errors_are_one_line_exit_2(capsys, tmp_path):
    assert main(["data", "get", "fnc1", "--to", str(tmp_path / "fnc1")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "https://github.com/FakeNewsChallenge/fnc-1" in err
    assert main(["data", "get", "stbs", "--to", str(tmp_path / "x")]) == 2
    assert "Did you mean 'stsb'?" in capsys.readouterr().err
    assert main(["data", "get", "digits", "--to", str(tmp_path / "d")]) == 0
    assert "embedded" in capsys.readouterr().out and not (tmp_path / "d").exists()
