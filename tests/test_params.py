"""Allowed values declared as data (``textsiam.params``): the constraints themselves, and a contract over every
registered loss, encoder, head, similarity, pooler and pair model, whose bad values come FROM its declarations.

For each component, each declared key and each value its constraint names as bad (``bad_values``), building the
component with its recipe plus that one bad value must raise a ConfigError naming the component and the key; the
recipe alone (defaults for everything else) must build; every declared default must pass its own declaration; and
every constructor keyword must be declared (or listed in UNDECLARED with the reason).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import pytest

from textsiam.errors import ConfigError
from textsiam.params import (
    POSITIVE_INT,
    Bool,
    Choice,
    Fields,
    Interval,
    ListOf,
    OneOf,
    Optional,
    Registered,
    Spec,
    Text,
    check_params,
)
from textsiam.registry import ENCODERS, HEADS, LOSSES, PAIR_MODELS, POOLERS, SIMILARITIES


def _mlp(hidden: int = 8):
    return ENCODERS.build("mlp", in_features=6, hidden=hidden, n_layers=2)


# kind -> name -> a function (tmp folder of a tiny BERT -> the keywords a component needs besides its defaults)
RECIPES: dict[str, dict[str, Callable[[Any], dict[str, Any]]]] = {
    "encoders": {
        "hf-transformer": lambda bert: {"model_name_or_path": str(bert)},
        "efficientnet-lite0": lambda bert: {"pretrained": False},
        "efficientnet-lite1": lambda bert: {"pretrained": False},
        "efficientnet-lite2": lambda bert: {"pretrained": False},
    },
    "heads": {
        "mlp-head": lambda bert: {"dim": 6},
        "pair-classifier": lambda bert: {"dim": 6, "classes": ["no", "yes"]},
    },
    "pair_models": {
        "twin": lambda bert: {"encoder": _mlp()},
        "pseudo": lambda bert: {"left": _mlp(), "right": _mlp(5)},
        "ridge-map": lambda bert: {"left": _mlp(), "right": _mlp(5), "prior_weight": 0, "class_match_weight": 0},
        "cross": lambda bert: {"encoder": ENCODERS.build("hf-transformer", model_name_or_path=str(bert))},
        "two-stage": lambda bert: {  # whole models as parts (submodel_keys): a gate with a negative class, a stance
            "gate": PAIR_MODELS.build(
                "twin",
                encoder=_mlp(),
                head={"name": "pair-classifier", "args": {"classes": ["no", "yes"], "negative": "no"}},
            ),
            "stance": PAIR_MODELS.build(
                "twin", encoder=_mlp(), head={"name": "pair-classifier", "args": {"classes": ["yes", "no"]}}
            ),
        },
    },
}
UNDECLARED = {
    "encoders": {"image"},  # the image preprocessing config: checked field by field by encoders/preprocess.py
    "heads": set(),
    "losses": set(),
    "pair_models": set(),  # besides each model's tower_keys and submodel_keys
    "similarities": set(),
    "poolers": set(),
}
NEEDS_EXTRA = {  # building these (not refusing values) needs 'vision'
    name: "efficientnet_lite_pytorch" for name in ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
}
REGISTRIES = {
    "losses": LOSSES,
    "encoders": ENCODERS,
    "heads": HEADS,
    "similarities": SIMILARITIES,
    "poolers": POOLERS,
    "pair_models": PAIR_MODELS,
}
CASES = [(kind, name) for kind, registry in REGISTRIES.items() for name in registry.names()]
BAD_CASES = [
    (kind, name, key, bad)
    for kind, name in CASES
    for key, constraint in REGISTRIES[kind].get(name).params.items()
    for bad in constraint.bad_values()
]


def _recipe(kind: str, name: str, bert) -> dict[str, Any]:
    return RECIPES.get(kind, {}).get(name, lambda _: {})(bert)


def _component_words(kind: str, name: str) -> str:
    return {"losses": f"loss '{name}'", "heads": f"head '{name}'", "pair_models": f"{name} model"}.get(
        kind, f"{name} encoder"
    )


@pytest.mark.parametrize(("kind", "name", "key", "bad"), BAD_CASES, ids=lambda v: repr(v)[:40])
def test_each_declared_bad_value_is_refused_naming_the_component_and_the_key(kind, name, key, bad, tiny_bert_dir):
    args = _recipe(kind, name, tiny_bert_dir) | {key: bad}
    with pytest.raises(ConfigError) as caught:
        REGISTRIES[kind].build(name, **args)
    message = str(caught.value)
    assert f"{_component_words(kind, name)}: {key}" in message, message
    assert "must be" in message or "unknown option" in message, message


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_the_recipe_with_defaults_builds_and_every_default_passes_its_declaration(kind, name, tiny_bert_dir):
    cls = REGISTRIES[kind].get(name)
    signature = inspect.signature(cls.__init__).parameters
    for key, constraint in cls.params.items():
        default = signature[key].default
        if default is not inspect.Parameter.empty:
            assert constraint.allows(default), f"{name}: the default {key}={default!r} breaks its own declaration"
    if name in NEEDS_EXTRA:
        pytest.importorskip(NEEDS_EXTRA[name], reason="needs the optional extra 'vision'")
    assert isinstance(REGISTRIES[kind].build(name, **_recipe(kind, name, tiny_bert_dir)), cls)


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_every_constructor_keyword_is_declared(kind, name):
    cls = REGISTRIES[kind].get(name)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)  # not nn.Module's *args
    parameters = inspect.signature(cls.__init__).parameters.items()
    keywords = {k for k, p in parameters if p.kind in named and k != "self" and not k.startswith("_")}
    keywords -= set(getattr(cls, "tower_keys", ())) | set(getattr(cls, "submodel_keys", ())) | UNDECLARED[kind]
    assert keywords == set(cls.params), f"{kind} {name!r}: declare {sorted(keywords - set(cls.params))} in params"


# ---------------------------------------------------------------------------------------------- the constraints


@pytest.mark.parametrize(
    ("constraint", "text"),
    [
        (POSITIVE_INT, "a positive integer"),
        (Interval(int, 0), "an integer >= 0"),
        (Interval(int, 0, 18), "an integer in 0..18"),
        (Interval(float, 0, None, closed="neither"), "a finite number > 0"),
        (Interval(float, 0, 1, closed="left"), "a finite number in [0, 1)"),
        (Interval(float, 0, 1, closed="right"), "a finite number in (0, 1]"),
        (Choice("mean", "max"), "one of 'mean', 'max'"),
        (Bool(), "true or false"),
        (Text(contains="{}"), "a string containing '{}'"),
        (Optional(POSITIVE_INT), "a positive integer or null"),
        (OneOf(Choice(0), Interval(int, 2)), "one of 0 or an integer >= 2"),
        (ListOf(Bool()), "a non-empty list of (true or false)"),
    ],
)
def test_each_constraint_says_what_it_allows_and_refuses_its_own_bad_values(constraint, text):
    assert constraint.describe() == text
    assert constraint.bad_values(), "a constraint must name values it refuses, for the contract tests"
    for bad in constraint.bad_values():
        assert not constraint.allows(bad), bad
        with pytest.raises(ConfigError, match=r"^thing: key(\[0\])? must be "):  # a list names its bad item
            constraint.check(bad, "thing: key")


def test_intervals_refuse_bools_nan_and_infinity_and_convert_ints_to_floats():
    positive = Interval(float, 0, None, closed="neither")
    assert positive.check(2, "x") == 2.0 and isinstance(positive.check(2, "x"), float)
    for bad in (True, math.nan, math.inf, -math.inf, 0, "1"):
        assert not positive.allows(bad), bad
    assert not POSITIVE_INT.allows(2.0) and not POSITIVE_INT.allows(False)
    assert Interval(int, 0, 2).allows(2) and not Interval(int, 0, 2, closed="left").allows(2)


def test_the_message_names_component_key_value_type_and_what_is_allowed():
    declared = {"margin": Interval(float, 0, None, closed="neither"), "mode": Choice("a", "b")}
    with pytest.raises(ConfigError) as caught:
        check_params("loss 'x'", {"margin": 1, "mode": "c"}, declared)
    assert str(caught.value) == "loss 'x': mode must be one of 'a', 'b', got 'c' (str)"
    assert check_params("loss 'x'", {"margin": 1, "mode": "a"}, declared) == {"margin": 1.0, "mode": "a"}
    with pytest.raises(TypeError, match=r"no declared constraint for \['other'\]"):
        check_params("loss 'x'", {"other": 1}, declared)


def test_nested_values_are_named_by_their_path():
    grid = Fields({"ridge": ListOf(Interval(float, 0, None, closed="neither"))})
    assert grid.check({"ridge": [1, 0.5]}, "m: grid") == {"ridge": [1.0, 0.5]}
    with pytest.raises(ConfigError, match=r"^m: grid\['ridge'\]\[1\] must be a finite number > 0, got -1 \(int\)$"):
        grid.check({"ridge": [1, -1]}, "m: grid")
    with pytest.raises(ConfigError, match=r"^m: grid: unknown option\(s\) \['alpha'\]; it takes \['ridge'\]$"):
        grid.check({"alpha": [1]}, "m: grid")
    with pytest.raises(ConfigError, match=r"must be a non-empty list of"):
        grid.check({"ridge": []}, "m: grid")


def test_registered_names_and_specs_read_the_registry():
    assert Registered(SIMILARITIES).allows("cosine") and not Registered(SIMILARITIES).allows("cosin")
    assert "cosine, dot, euclidean, manhattan" in Registered(SIMILARITIES).describe()
    spec = Spec(LOSSES, weight=Interval(float))
    assert spec.allows({"name": "cosent", "args": {"scale": 5}, "weight": 0.5})
    assert not spec.allows({"name": "cosent", "weight": "heavy"}) and not spec.allows({"name": "cosent", "x": 1})
