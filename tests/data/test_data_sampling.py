"""length_grouped_batches: a seeded permutation cut into length-homogeneous batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textsiam.data import length_grouped_batches


@pytest.fixture
def lengths() -> list[int]:
    return np.random.default_rng(0).integers(1, 200, size=1003).tolist()


def test_every_index_exactly_once(lengths):
    batches = length_grouped_batches(lengths, batch_size=16, seed=1)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(len(b) == 16 for b in batches if len(b) != len(lengths) % 16)
    assert sum(len(b) < 16 for b in batches) == 1


def test_reproducible_and_seed_dependent(lengths):
    first = length_grouped_batches(lengths, batch_size=8, seed=5)
    assert length_grouped_batches(lengths, batch_size=8, seed=5) == first
    assert length_grouped_batches(lengths, batch_size=8, seed=6) != first


def test_batches_are_more_homogeneous_than_random(lengths):
    lens = np.asarray(lengths)
    grouped = length_grouped_batches(lengths, batch_size=16, seed=0)
    perm = np.random.default_rng(0).permutation(len(lens))
    random_batches = [perm[i : i + 16] for i in range(0, len(perm), 16)]

    def mean_spread(batches):
        return np.mean([np.ptp(lens[list(b)]) for b in batches])

    assert mean_spread(grouped) < 0.25 * mean_spread(random_batches)


def test_batch_order_is_shuffled(lengths):
    batches = length_grouped_batches(lengths, batch_size=16, seed=0)
    first_lengths = [lengths[b[0]] for b in batches]
    assert first_lengths != sorted(first_lengths)


def test_no_shuffle_sorts_by_length(lengths):
    batches = length_grouped_batches(lengths, batch_size=10, seed=0, shuffle=False)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)


def test_bad_batch_size_and_empty():
    with pytest.raises(ValueError, match="batch_size"):
        length_grouped_batches([1, 2], batch_size=0, seed=0)
    assert length_grouped_batches([], batch_size=4, seed=0) == []


@settings(max_examples=50, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 500), max_size=300),
    batch_size=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    shuffle=st.booleans(),
)
def test_permutation_property(lengths, batch_size, seed, shuffle):
    batches = length_grouped_batches(lengths, batch_size=batch_size, seed=seed, shuffle=shuffle)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(1 <= len(batch) <= batch_size for batch in batches)
