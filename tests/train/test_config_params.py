"""TrainConfig and fit's run settings refuse every bad value their declarations generate (``PARAMS``, ``RUN_PARAMS``),
each with a message naming the key; the defaults construct."""

from __future__ import annotations

import re

import pytest

from textsiam.api.settings import RUN_PARAMS
from textsiam.errors import ConfigError
from textsiam.params import check_params
from textsiam.train.config import PARAMS, TrainConfig

CASES = [(key, bad) for key, constraint in PARAMS.items() for bad in constraint.bad_values()]


def test_every_field_is_declared_and_the_defaults_construct():
    assert set(PARAMS) == set(TrainConfig.field_names())
    assert TrainConfig().to_dict()["epochs"] == 1


@pytest.mark.parametrize(("key", "bad"), CASES, ids=[f"{k}={b!r}"[:60] for k, b in CASES])
def test_a_declared_bad_value_is_refused_naming_the_key(key, bad):
    if key == "seed":  # checked first with the flag and the range in words (TrainConfig.seed (--seed) ...)
        match = r"seed \(--seed\) must be an integer from 0"
    else:
        match = rf"TrainConfig: {key}"
    try:
        config = TrainConfig(**{key: bad})
    except ConfigError as err:
        assert re.search(match, str(err)), str(err)
    else:  # a YAML string such as "1" is coerced to the field's type on purpose: then it must be an allowed value
        assert isinstance(bad, str) and PARAMS[key].allows(getattr(config, key))


@pytest.mark.parametrize("key", sorted(RUN_PARAMS))
def test_run_settings_refuse_their_declared_bad_values(key):
    for bad in RUN_PARAMS[key].bad_values():
        with pytest.raises(ConfigError, match=f"fit: {key}"):
            check_params("fit", {key: bad}, RUN_PARAMS)
