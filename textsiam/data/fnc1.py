"""Reader for FNC-1 (Fake News Challenge stage 1): ``*_stances.csv`` joined with ``*_bodies.csv`` by Body ID.

Format (FakeNewsChallenge/fnc-1): comma-separated with RFC-4180 quoting, a header, UTF-8. Stances have ``Headline``,
``Body ID``, ``Stance`` (unrelated, discuss, agree, disagree); bodies have ``Body ID`` and ``articleBody``. Bodies
and a few headlines span several lines, so the files go through a real CSV parser, never a line split. The held-out
``competition_test_*`` files have the same format and read unchanged.

Each pair is (headline, body) with the binary label related (agree, disagree, discuss) = 1 vs unrelated = 0; the
4-way stance is kept in the ``class`` column and the Body ID in the ``group`` column, so a dev split can be carved
by body (:meth:`PairData.split` splits by ``group`` when present: no body on both sides).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import datasets

from textsiam.data.options import ReadOptions
from textsiam.data.pairs import PairData
from textsiam.data.parsing import check_text, decode_text, read_source
from textsiam.errors import DataError
from textsiam.registry import READERS

STANCES = ("unrelated", "discuss", "agree", "disagree")
"""The 4 classes in the order of the official scorer; ``unrelated`` is the negative of the binary decision."""
STANCE_COLUMNS = ("Headline", "Body ID", "Stance")
BODY_COLUMNS = ("Body ID", "articleBody")
OFFICIAL_SPLIT_SEED = 1489215
"""The seed of the official baseline's hold-out split (``generate_hold_out_split``, 80 % of the bodies train)."""


def bodies_path_for(stances: Path) -> Path:
    """The bodies file beside a stances file: ``X_stances.csv`` -> ``X_bodies.csv``."""
    name = stances.name
    if "_stances" not in name:
        raise DataError(
            "cannot find the bodies file by name (expected a name like train_stances.csv); pass --bodies FILE",
            path=str(stances),
        )
    return stances.with_name(name.replace("_stances", "_bodies"))


def _rows(path: Path, expected: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]], str]:
    """``([(line number, row dict)], sha256)`` of a CSV file whose header must hold ``expected``."""
    p, raw, digest = read_source(path)
    reader = csv.DictReader(io.StringIO(decode_text(raw, p), newline=""))
    missing = [c for c in expected if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(
            f"header {reader.fieldnames} lacks column(s) {missing}; an FNC-1 file needs {list(expected)} "
            "(is this the right file? stances and bodies files go in their own options)",
            path=str(p),
            row=1,
        )
    return [(reader.line_num, row) for row in reader], digest


def read_bodies(path: str | os.PathLike) -> dict[str, str]:
    """``{Body ID: article text}`` of an FNC-1 bodies file."""
    p = Path(path)
    bodies: dict[str, str] = {}
    rows, _ = _rows(p, BODY_COLUMNS)
    for line, row in rows:
        body_id = (row["Body ID"] or "").strip()
        if not body_id:
            raise DataError("Body ID is empty", path=str(p), row=line, column="Body ID")
        if body_id in bodies:
            raise DataError(f"Body ID {body_id} appears twice; Body IDs must be unique", path=str(p), row=line)
        bodies[body_id] = check_text(row["articleBody"], path=p, row=line, column="articleBody")
    return bodies


@READERS.register("fnc1", patterns=("*_stances.csv",), options=("limit", "bodies"))
def read_fnc1(path: Path, options: ReadOptions) -> PairData:
    """FNC-1 *_stances.csv (+ *_bodies.csv): headline/body pairs, related vs unrelated, 4-way stance as class."""
    limit = options.limit
    p = Path(path)
    body_file = Path(options.bodies) if options.bodies is not None else bodies_path_for(p)
    if not body_file.exists():
        raise DataError(f"the bodies file {body_file} does not exist; pass --bodies FILE (CLI) or bodies=", path=str(p))
    texts = read_bodies(body_file)
    rows, digest = _rows(p, STANCE_COLUMNS)
    a, b, labels, classes, groups = [], [], [], [], []
    for line, row in rows[:limit]:
        stance = (row["Stance"] or "").strip()
        if stance not in STANCES:
            raise DataError(f"Stance {stance!r} is not one of {list(STANCES)}", path=str(p), row=line, column="Stance")
        body_id = (row["Body ID"] or "").strip()
        if body_id not in texts:
            raise DataError(
                f"Body ID {body_id!r} is not in {body_file}; stances and bodies must come from the same split "
                "(train_* with train_*, competition_test_* with competition_test_*)",
                path=str(p),
                row=line,
                column="Body ID",
            )
        a.append(check_text(row["Headline"], path=p, row=line, column="Headline"))
        b.append(texts[body_id])
        labels.append(0.0 if stance == "unrelated" else 1.0)
        classes.append(stance)
        groups.append(body_id)
    if not labels:
        raise DataError("has a header but no stance rows", path=str(p))
    features = datasets.Features(
        {k: datasets.Value(t) for k, t in (("a", "string"), ("b", "string"), ("label", "float32"))}
        | {"class": datasets.Value("string"), "group": datasets.Value("string")}
    )
    columns = {"a": a, "b": b, "label": labels, "class": classes, "group": groups}
    dataset = datasets.Dataset.from_dict(columns, features=features)
    return PairData(dataset, source=str(p), sha256=digest, label_kind="binary", label_range=(0.0, 1.0))
