"""STS-B and MRPC readers: their format pitfalls on small synthetic files, then the real shared files."""

from __future__ import annotations

from pathlib import Path

import pytest

from textsiam.data import read_pairs
from textsiam.errors import DataError

MRPC_HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"


def write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_stsb_7_and_9_fields_and_quotes(tmp_path):
    rows = [
        'main-news\tMSRpar\t2012\t0001\t4.200\tHe said "no.\tHe refused.',
        "main-forum\tdeft\t2014\t0002\t0.000\tA cat.\tA dog.\thttp://a\thttp://b",
    ]
    pairs = read_pairs(write_bytes(tmp_path, "sts-x.csv", ("\n".join(rows) + "\n").encode()))
    assert pairs.a == ['He said "no.', "A cat."] and pairs.b == ["He refused.", "A dog."]
    assert pairs.labels.tolist() == pytest.approx([4.2, 0.0], rel=1e-6)  # float32 labels: 4.2 rounds by 6e-8
    assert (pairs.label_kind, pairs.label_range) == ("graded", (0.0, 5.0))


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("g\tf\ty\t1\t2.0\tonly one sentence", r"row 2: expected 7 or 9 .* got 6"),
        ("g\tf\ty\t1\t7.5\ta\tb", r"row 2, column 'score': label 7.5 is outside the STS range 0..5"),
        ("g\tf\ty\t1\tfour\ta\tb", r"row 2, column 'score': label 'four' is not a number"),
        ("g\tf\ty\t1\t2.0\t \tb", r"row 2, column 'sentence1': text is empty"),
    ],
)
def test_stsb_errors(tmp_path, line, match):
    path = write_bytes(tmp_path, "sts-bad.csv", f"g\tf\ty\t0\t1.0\ta\tb\n{line}\n".encode())
    with pytest.raises(DataError, match=r"sts-bad\.csv, " + match):
        read_pairs(path)


def test_mrpc_bom_crlf_header_and_quotes(tmp_path):
    body = f'{MRPC_HEADER}\r\n1\t11\t12\tAmrozi "the witness\tSaid café\r\n0\t13\t14\tx\ty\r\n'
    pairs = read_pairs(write_bytes(tmp_path, "msr_paraphrase_test.txt", b"\xef\xbb\xbf" + body.encode()))
    assert pairs.a == ['Amrozi "the witness', "x"] and pairs.b == ["Said café", "y"]  # no \r, no BOM
    assert pairs.labels.tolist() == [1.0, 0.0] and pairs.label_kind == "binary"
    headerless = write_bytes(tmp_path, "msr_paraphrase_nohead.txt", body.split("\r\n", 1)[1].encode())
    assert read_pairs(headerless).a == pairs.a


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("1\t1\t2\tx", r"row 3: expected 5 tab-separated fields .* got 4"),
        ("2\t1\t2\tx\ty", r"row 3, column 'Quality': label 2 must be 0 or 1"),
        ("1\t1\t2\tx\t", r"row 3, column '#2 String': text is empty"),
    ],
)
def test_mrpc_errors(tmp_path, line, match):
    path = write_bytes(tmp_path, "msr_paraphrase_bad.txt", f"{MRPC_HEADER}\r\n0\t1\t2\ta\tb\r\n{line}\r\n".encode())
    with pytest.raises(DataError, match=r"msr_paraphrase_bad\.txt, " + match):
        read_pairs(path)


# ---- the real files (skipped without ../shared/data) ----


def first_line_with_odd_quotes(path: Path, field: int, encoding: str = "utf-8") -> tuple[int, list[str]]:
    """(index among data rows, fields) of the first row whose ``field`` has an odd number of '"'."""
    lines = [ln for ln in path.read_text(encoding=encoding).replace("\r\n", "\n").split("\n") if ln]
    for i, line in enumerate(lines):
        fields = line.split("\t")
        if fields[field].count('"') % 2 == 1:
            return i, fields
    raise AssertionError(f"{path} has no row with an unbalanced quote in field {field}")


@pytest.mark.parametrize(("name", "rows"), [("sts-train.csv", 5749), ("sts-dev.csv", 1500), ("sts-test.csv", 1379)])
def test_real_stsb(shared_data, name, rows):
    path = shared_data / "stsb" / name
    pairs = read_pairs(path)
    assert len(pairs) == rows
    labels = pairs.labels
    assert labels.min() == 0.0 and labels.max() == 5.0 and pairs.label_kind == "graded"
    index, fields = first_line_with_odd_quotes(path, 5)
    assert pairs.a[index] == fields[5] and pairs.b[index] == fields[6]


def test_real_stsb_nine_field_rows(shared_data):
    path = shared_data / "stsb" / "sts-test.csv"
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    nine = [i for i, line in enumerate(lines) if line.count("\t") == 8]
    assert nine, "expected 9-field rows in sts-test.csv"
    pairs = read_pairs(path)
    for i in nine[:5]:
        fields = lines[i].split("\t")
        assert (pairs.a[i], pairs.b[i]) == (fields[5], fields[6])
        assert pairs.labels[i] == pytest.approx(float(fields[4]), abs=1e-6)  # float32 of a label <= 5: < 3e-7 off


def test_real_mrpc(shared_data):
    path = shared_data / "mrpc" / "msr_paraphrase_train.txt"
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf" and b"\r\n" in path.read_bytes()[:200]
    pairs = read_pairs(path)
    assert len(pairs) == 4076 and pairs.labels.sum() == 2753
    assert not any("\r" in s or "\ufeff" in s for s in pairs.a + pairs.b)
    index, fields = first_line_with_odd_quotes(path, 3, encoding="utf-8-sig")
    assert pairs.a[index - 1] == fields[3]  # index 0 is the header row
    rest, dev = pairs.split(0.1, seed=0)
    assert abs(dev.labels.mean() - 2753 / 4076) < 0.01
