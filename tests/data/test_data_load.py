"""textsiam.api.load_data: embedded sets come from the DATASETS registry; --label-range reaches the readers."""

from __future__ import annotations

import textsiam.api as api
from textsiam.cli.common import data_kwargs
from textsiam.cli.main import build_parser
from textsiam.data import digit_pairs
from textsiam.registry import DATASETS, Registry


def test_embedded_sets_come_from_the_registry(monkeypatch):
    assert DATASETS.get("digits") is digit_pairs and DATASETS.meta("digits")["splits"] == ("train", "dev", "test")
    calls = []
    registry = Registry("datasets", "dataset")

    @registry.register("toy", splits=("dev",))
    def toy(split: str, seed: int):
        """A toy embedded set."""
        calls.append((split, seed))
        return digit_pairs("dev")

    monkeypatch.setattr("textsiam.data.load.DATASETS", registry)
    data = api.load_data("toy:dev", seed=3, limit=5)
    assert calls == [("dev", 3)] and len(data) == 5


def test_label_range_from_the_command_line_to_the_reader(tmp_path):
    path = tmp_path / "ratings.tsv"
    path.write_text("text_a\ttext_b\tlabel\nx\ty\t1\nz\tw\t5\n")
    args = build_parser().parse_args(["evaluate", "--model", "m", "--data", str(path), "--label-range", "1", "5"])
    data = api.load_data(args.data, **data_kwargs(args))
    assert (data.label_kind, data.label_range) == ("graded", (1.0, 5.0))
