"""A model zip in pieces: unpacked once, atomically, with every file's sha256 checked before it is used."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from textsiam.encoders.split_zip import JoinedPieces, SplitZipModel, unpack_pieces
from textsiam.errors import ModelNotFoundError
from textsiam.imaging import file_sha256


def _pieces(folder: Path, files: dict[str, bytes], n: int = 3) -> list[Path]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"tiny/{name}", data)
    blob = buffer.getvalue()
    cut = [len(blob) * i // n for i in range(n + 1)]
    paths = []
    for i in range(n):
        paths.append(folder / f"tiny.zip.00{i + 1}")
        paths[-1].write_bytes(blob[cut[i] : cut[i + 1]])
    return paths


def _spec(files: dict[str, bytes]) -> SplitZipModel:
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    return SplitZipModel(hub_id="test/tiny", pip_names=("p1", "p2", "p3"), piece_paths=("", "", ""), top="tiny",
                         files=digests, extra="test")  # fmt: skip


FILES = {"model.safetensors": os.urandom(3_000_000), "config.json": b'{"model_type": "bert"}', "sub/x.txt": b"x"}


def test_joined_pieces_read_and_seek_like_one_file(tmp_path):
    paths = _pieces(tmp_path, FILES)
    whole = b"".join(p.read_bytes() for p in paths)
    with JoinedPieces(paths) as joined:
        assert joined.read() == whole
        joined.seek(len(whole) // 3 - 5)  # across the first cut
        assert joined.read(10) == whole[len(whole) // 3 - 5 : len(whole) // 3 + 5]
        joined.seek(-7, io.SEEK_END)
        assert joined.read() == whole[-7:]


def test_unpacks_the_named_files_with_their_hashes(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTSIAM_CACHE", str(tmp_path / "cache"))
    folder = unpack_pieces("tiny", _spec(FILES), _pieces(tmp_path, FILES))
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == set(FILES)
    assert all((folder / name).read_bytes() == data for name, data in FILES.items())
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([folder.name, f"{folder.name}.lock"])


def test_a_wrong_hash_leaves_no_folder_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTSIAM_CACHE", str(tmp_path / "cache"))
    spec = _spec(FILES)
    bad = SplitZipModel(**{**vars(spec), "files": {**spec.files, "config.json": "0" * 64}})
    with pytest.raises(ModelNotFoundError, match=r"tiny/config.json .* has sha256 .* expected 0000"):
        unpack_pieces("tiny", bad, _pieces(tmp_path, FILES))
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == [f"tiny-{spec.sha256[:12]}.lock"]


def test_pieces_out_of_order_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTSIAM_CACHE", str(tmp_path / "cache"))
    pieces = _pieces(tmp_path, FILES)
    with pytest.raises(ModelNotFoundError, match="reinstall"):
        unpack_pieces("tiny", _spec(FILES), pieces[::-1])


def test_a_changed_cache_is_detected_on_the_next_use(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTSIAM_CACHE", str(tmp_path / "cache"))
    spec, pieces = _spec(FILES), _pieces(tmp_path, FILES)
    folder = unpack_pieces("tiny", spec, pieces)
    (folder / "model.safetensors").write_bytes(b"other weights")
    file_sha256.cache_clear()  # as in a new process: the hash is computed once per process
    with pytest.raises(ModelNotFoundError, match="the cache was changed: delete"):
        unpack_pieces("tiny", spec, pieces)


_WORKER = """
import json, sys
from pathlib import Path
from textsiam.encoders.split_zip import SplitZipModel, unpack_pieces
spec = SplitZipModel(**{**json.loads(sys.argv[1]), "pip_names": (), "piece_paths": ()})
print(unpack_pieces("tiny", spec, [Path(p) for p in json.loads(sys.argv[2])]))
"""


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: two processes, a lock, file hashes and folder names
def test_two_processes_unpack_once_and_share_the_folder(tmp_path):
    """Started together, both get the same complete folder. Without the lock the second rename would fail (the target
    folder exists and is not empty) or one process would read a half-written folder; no temporary folder stays."""
    files = {**FILES, "model.safetensors": os.urandom(40_000_000)}  # big enough that the two runs overlap
    spec, pieces = _spec(files), _pieces(tmp_path, files)
    args = [json.dumps({k: v for k, v in vars(spec).items() if k not in ("pip_names", "piece_paths")})]
    args.append(json.dumps([str(p) for p in pieces]))
    env = {**os.environ, "TEXTSIAM_CACHE": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err.decode()[-2000:] for _, err in outs]
    folders = {out.decode().strip() for out, _ in outs}
    assert len(folders) == 1
    folder = Path(folders.pop())
    assert all((folder / name).read_bytes() == data for name, data in files.items())
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted([folder.name, f"{folder.name}.lock"])
