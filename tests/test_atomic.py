from __future__ import annotations

import json

from textsiam.atomic import write_json


def test_write_json_turns_non_finite_numbers_into_null(tmp_path):
    path = write_json(tmp_path / "m.json", {"spearman": float("nan"), "n": 3, "ci": [1.0, float("inf")]})
    assert json.loads(path.read_text()) == {"spearman": None, "n": 3, "ci": [1.0, None]}
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind
