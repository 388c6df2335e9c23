from __future__ import annotations

import pytest

import textsiam
from textsiam.api import list_components
from textsiam.registry import ALL_REGISTRIES, Registry


def test_duplicate_name_is_an_error():
    reg = Registry("things")
    reg.register("a", object())
    with pytest.raises(ValueError, match="already has an entry named 'a'"):
        reg.register("a", object())


def test_unknown_name_lists_close_matches_and_how_to_list():
    reg = Registry("losses")

    @reg.register("contrastive")
    class Contrastive:
        """Contrastive loss."""

    with pytest.raises(KeyError) as err:
        reg.get("contrastiv")
    assert "'contrastive'" in str(err.value) and "textsiam list losses" in str(err.value)
    assert reg.describe() == {"contrastive": "Contrastive loss."}


def test_every_registry_is_filled_and_described():
    textsiam.load_components()
    for kind, reg in ALL_REGISTRIES.items():
        assert len(reg) > 0, kind
        for name, desc in reg.describe().items():
            assert desc, f"{kind} entry {name!r} has no one-line description"


def test_expected_names_registered():
    found = list_components()
    assert {"hf-transformer", "mlp"} <= set(found["encoders"])
    assert {"mean", "cls", "max"} <= set(found["poolers"])
    assert {"cosine", "euclidean", "manhattan", "dot"} <= set(found["similarities"])
    assert {"twin", "pseudo"} <= set(found["pair_models"])
    assert {"contrastive", "chopra-exp", "cosine", "online-contrastive", "cosent", "multiple-negatives"} <= set(
        found["losses"]
    )
    assert {"stsb", "mrpc", "csv", "tsv", "jsonl", "parquet"} <= set(found["readers"])
    assert {"digits"} <= set(found["datasets"])
    assert {"minilm-twin", "digits-mlp-twin"} <= set(found["presets"])


def test_list_components_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown component kind"):
        list_components("widgets")
