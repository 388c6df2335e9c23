"""The seed's pictures in the report: pair accuracy and loss per epoch, and the grid of image pairs."""

from __future__ import annotations

import re

import numpy as np

from textsiam.eval.report import write_report
from textsiam.eval.train_log import read_train_log


def test_per_epoch_series_are_read(tmp_path):
    log = tmp_path / "train_log.jsonl"
    log.write_text(
        '{"type": "epoch", "epoch": 1, "train_loss": 0.3, "dev_pair_accuracy": 0.8}\n'
        '{"type": "epoch", "epoch": 2, "train_loss": 0.2}\n'
    )
    per_epoch = read_train_log(log)["per_epoch"]
    assert per_epoch == {"train_loss": ([1.0, 2.0], [0.3, 0.2]), "dev_pair_accuracy": ([1.0], [0.8])}


def test_report_shows_right_and_wrong_image_pairs_with_distances(tmp_path, image_files):
    files = image_files(6, size=(12, 12), mode="L")
    scores = np.array([-0.1, -0.2, -0.9, -0.8, -0.3, -0.7])  # negated distances
    labels = np.array([1, 1, 0, 0, 0, 1])  # the last two are wrong at distance < 0.5
    log = tmp_path / "train_log.jsonl"
    log.write_text('{"type": "epoch", "epoch": 1, "train_loss": 0.3, "dev_pair_accuracy": 0.8}\n')
    html = write_report(
        tmp_path / "r", scores, labels, graded=False, images_a=files, images_b=files[::-1], score_name="euclidean",
        train_log=log,
    ).read_text()  # fmt: skip
    found = re.search(r"(\d+) right and (\d+) wrong decisions at distance &lt; ", html)
    assert found and int(found[1]) + int(found[2]) == 6 and int(found[2]) >= 1  # no threshold separates the classes
    assert (tmp_path / "r" / "pair_grid.png").stat().st_size > 1000
    assert (tmp_path / "r" / "epoch_curves.png").stat().st_size > 1000
