"""Topic-held-out dev split: whole stories on one side, no body or held-out headline in train, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.title_body import write_fnc_files
from textsiam.data import read_pairs
from textsiam.data.stories import carve_dev, story_ids, topic_split
from textsiam.errors import ConfigError, DataError


def synthetic_stories(folder, n_stories=30, seed=0):
    """FNC-1 files of ``n_stories`` stories, each 1-4 bodies with 2-5 headlines (the first about every body of the
    story, the others about one or two), related pairs within a story and unrelated pairs drawn across stories, as
    FNC-1 made them."""
    rng = np.random.default_rng(seed)
    bodies, stances, truth = [], [], {}
    for s in range(n_stories):
        ids = [f"{s}{k}" for k in range(int(rng.integers(1, 5)))]
        bodies += [(i, f"body {i} of story {s}") for i in ids]
        truth.update(dict.fromkeys(ids, s))
        for h in range(int(rng.integers(2, 6))):
            linked = ids if h == 0 else rng.choice(ids, size=min(len(ids), int(rng.integers(1, 3))), replace=False)
            for i in linked:
                stances.append(
                    (f"headline {h} of story {s}", str(i), str(rng.choice(["agree", "discuss", "disagree"])))
                )
    heads = sorted({h for h, _, _ in stances})
    body_ids = [b for b, _ in bodies]
    for _ in range(3 * len(stances)):
        h, b = heads[rng.integers(len(heads))], body_ids[rng.integers(len(body_ids))]
        if h.split()[-1] != str(truth[b]):
            stances.append((h, b, "unrelated"))
    return read_pairs(write_fnc_files(folder, "train", stances, bodies)), truth


def test_stories_are_the_components_of_the_related_pairs(tmp_path):
    data, truth = synthetic_stories(tmp_path)
    head_story, body_story = story_ids(data)
    by_truth: dict[int, set[int]] = {}
    for body, story in zip(data.dataset["group"], body_story.tolist()):
        by_truth.setdefault(truth[body], set()).add(story)
    # each true story is exactly one found story and no found story merges two true ones (unrelated pairs add no edge)
    assert all(len(found) == 1 for found in by_truth.values())
    assert len({next(iter(f)) for f in by_truth.values()}) == len(by_truth)
    related = np.array([c != "unrelated" for c in data.class_labels])
    assert (head_story[related] == body_story[related]).all()


def test_no_story_body_or_held_out_headline_crosses_train_and_dev(tmp_path):
    data, truth = synthetic_stories(tmp_path)
    train, dev = topic_split(data, 0.3, seed=1)
    dev_stories = {truth[b] for b in dev.dataset["group"]}
    assert not dev_stories & {truth[b] for b in train.dataset["group"]}
    assert not set(dev.dataset["group"]) & set(train.dataset["group"])
    held_headlines = {h for h, c in zip(dev.a, dev.class_labels) if c != "unrelated"}
    assert held_headlines and not held_headlines & set(train.a)
    # dev holds every pair of its bodies (the file's related/unrelated mix); only held-out headline x kept body goes
    assert len(dev) == sum(truth[b] in dev_stories for b in data.dataset["group"])
    dropped = len(data) - len(train) - len(dev)
    assert dropped == sum(
        truth[b] not in dev_stories and int(h.split()[-1]) in dev_stories for h, b in zip(data.a, data.dataset["group"])
    )
    assert 0.3 * len(data) <= len(dev) < 0.3 * len(data) + max(np.bincount([truth[b] for b in data.dataset["group"]]))


def test_topic_split_is_deterministic_per_seed(tmp_path):
    data, _ = synthetic_stories(tmp_path)
    first, again, other = (topic_split(data, 0.25, seed=s)[1] for s in (3, 3, 4))
    assert first.dataset["group"] == again.dataset["group"] and first.a == again.a
    assert set(first.dataset["group"]) != set(other.dataset["group"])


def test_carve_dev_group_is_the_body_split_and_bad_inputs_are_refused(tmp_path):
    data, _ = synthetic_stories(tmp_path)
    rest, dev = carve_dev(data, 0.2, seed=5, how="group")
    expected = data.split(0.2, seed=5)[1]
    assert dev.dataset["group"] == expected.dataset["group"] and len(rest) + len(dev) == len(data)
    with pytest.raises(ConfigError, match="dev_split must be one of \\['group', 'topic'\\], got 'story'"):
        carve_dev(data, 0.2, seed=5, how="story")
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        topic_split(data, 1.0)
    plain = type(data)(data.dataset.remove_columns(["class"]), source="pairs.tsv")
    with pytest.raises(DataError, match="pairs.tsv: a topic split needs a group column"):
        topic_split(plain, 0.2)


def test_train_cli_carves_a_topic_dev_split(tmp_path, capsys):
    """`textsiam train --dev-fraction F --dev-split topic` saves the topic split's dev pairs; without a fraction the
    option is refused with a message saying what to add."""
    from textsiam.cli.main import main

    data, truth = synthetic_stories(tmp_path)
    out = tmp_path / "run"
    args = ["train", "--preset", "stance-tfidf-mlp", "--train", str(tmp_path / "train_stances.csv")]
    args += ["--dev-fraction", "0.25", "--dev-split", "topic", "--epochs", "1", "--out", str(out)]
    assert main(args) == 0
    dev = read_pairs(out / "dev_split.tsv")
    _, expected = topic_split(data, 0.25, seed=0)
    assert (dev.a, dev.b) == (expected.a, expected.b)
    assert main(args[:5] + ["--dev-split", "topic", "--out", str(tmp_path / "other")]) == 2
    assert (
        "dev_split 'topic' says how --dev-fraction carves dev pairs; pass --dev-fraction F" in capsys.readouterr().err
    )


def test_fit_refuses_an_unknown_dev_split_before_reading_data(tmp_path):
    import textsiam

    missing = tmp_path / "absent_stances.csv"  # never read: the settings are checked first
    with pytest.raises(ConfigError, match=r"fit: dev_split must be one of 'group', 'topic' or null, got 'story'"):
        textsiam.fit(missing, tmp_path / "o", preset="stance-tfidf-mlp", dev_fraction=0.2, dev_split="story")
