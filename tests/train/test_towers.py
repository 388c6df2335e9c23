"""The step embedder of ``textsiam/train/towers.py``: towers that do not train are run once per text (cached),
activation recomputation is decided from the towers' own step sizes, dev outputs equal ``model.pair_outputs``, the
towers' training lifecycle is called, and weight decay skips what the towers name."""

from __future__ import annotations

import pytest
import torch

from tests.helpers.fixtures import BATCHED, needs_minilm, needs_vision
from textsiam.encoders import LstmEncoder
from textsiam.encoders.base import Encoder
from textsiam.models import PseudoSiameseModel, TwinModel, create_model
from textsiam.train.towers import SideEmbedder, param_groups

CPU = torch.device("cpu")
A = ["the cat eats", "a dog runs after the cat", "the dog", "the cat eats"]
B = ["a cat and a dog", "the cat runs", "a dog eats the food", "a cat and a dog"]


class Counted(Encoder):
    """A toy text tower: one weight row per word, mean of the rows; counts its forward rows, records its switches."""

    modality = "text"

    def __init__(self, words: list[str], dim: int = 4, slots_per_item: int = 10) -> None:
        super().__init__()
        self.words = sorted(set(words))
        self.table = torch.nn.Embedding(len(self.words) + 1, dim)
        self.slots_per_item = slots_per_item
        self.rows: list[int] = []
        self.switches: list[tuple[str, bool]] = []

    @property
    def dim(self) -> int:
        return self.table.embedding_dim

    def collate(self, items):
        ids = [[self.words.index(w) + 1 for w in text.split()] for text in items]
        width = max(len(x) for x in ids)
        return {"ids": torch.tensor([x + [0] * (width - len(x)) for x in ids])}

    def forward(self, features):
        self.rows.append(len(features["ids"]))
        return self.table(features["ids"]).mean(1)

    def step_slots(self, features) -> int:
        return self.slots_per_item * len(features["ids"])

    def checkpoint_layers(self, on: bool) -> None:
        self.switches.append(("checkpoint", on))

    def begin_training(self) -> None:
        self.switches.append(("begin", True))

    def end_training(self) -> None:
        self.switches.append(("end", True))


def _pseudo(frozen_right: bool = True) -> PseudoSiameseModel:
    torch.manual_seed(0)
    words = " ".join(A + B).split()
    model = PseudoSiameseModel(Counted(words), Counted(words), projection_dim=4)
    model.right.requires_grad_(not frozen_right)
    return model


def test_a_frozen_tower_runs_once_per_distinct_text_over_many_steps():
    model = _pseudo()
    embedder = SideEmbedder(model, CPU, A)
    assert set(embedder.caches) == {"right"} and embedder.steps_cached
    sides = embedder.prepare(A, B)
    for _ in range(3):  # three "epochs" of the same pairs
        u, v = embedder.rows(*sides, range(len(A)))
    assert sum(model.right.rows) == len(set(B))  # the frozen side: each distinct text once
    assert sum(model.left.rows) == 3 * len(A)  # the trained side: every step
    torch.testing.assert_close(v, model.embed(model.right.collate(B), "right"), atol=BATCHED, rtol=BATCHED)


def test_no_cache_when_every_tower_trains_or_caching_is_off():
    assert SideEmbedder(_pseudo(frozen_right=False), CPU, A).caches == {}
    embedder = SideEmbedder(_pseudo(), CPU, A, cache=False)
    assert embedder.caches == {} and not embedder.steps_cached


@pytest.mark.parametrize(("budget", "recompute"), [(None, False), (80, False), (79, True)])
def test_recomputation_follows_both_towers_step_slots_against_the_budget(budget, recompute):
    model = _pseudo(frozen_right=False)  # both trained: the step goes through the model's forward
    model.left.slots_per_item, model.right.slots_per_item = 10, 10  # 4 pairs: 40 + 40 slots in the step
    embedder = SideEmbedder(model, CPU, A, checkpoint_tokens=budget)
    embedder.rows(*embedder.prepare(A, B), range(len(A)))
    for tower in (model.left, model.right):
        assert tower.switches == [("begin", True), ("checkpoint", recompute)]


def test_close_ends_training_on_each_tower_once_and_drops_the_cache():
    model = _pseudo()
    embedder = SideEmbedder(model, CPU, A)
    embedder(A, B)
    embedder.close()
    assert model.left.switches == [("begin", True), ("end", True)]
    assert model.right.switches == [("begin", True), ("end", True)]
    assert len(embedder.caches["right"]) == 0
    twin = TwinModel(Counted(A + B))
    SideEmbedder(twin, CPU, A).close()
    assert twin.encoder.switches == [("begin", True), ("end", True)]  # one tower: one call each


@pytest.mark.parametrize("frozen_right", [True, False])
def test_dev_outputs_equal_the_models_own_pair_outputs(frozen_right):
    model = _pseudo(frozen_right)
    embedder = SideEmbedder(model, CPU, A)
    model.train()
    expected = model.pair_outputs(A, B, batch_size=3)
    # the same float32 embeddings, computed in other batches (BATCHED); the model is left in training mode
    torch.testing.assert_close(embedder.dev_outputs(A, B, batch_size=3), expected, atol=BATCHED, rtol=BATCHED)
    assert model.left.training and model.training


def test_lstm_title_beside_a_frozen_lstm_body_caches_the_body():
    """A real tower with a vocabulary: the frozen body runs once per text; the title trains every step."""
    torch.manual_seed(0)
    model = PseudoSiameseModel(LstmEncoder(min_count=1), LstmEncoder(min_count=1), projection_dim=4)
    model.fit_vocabulary(A, B)
    model.right.requires_grad_(False)
    calls, forward = [], model.right.forward
    model.right.forward = lambda features: calls.append(len(features["input_ids"])) or forward(features)
    embedder = SideEmbedder(model, CPU, A)
    sides = embedder.prepare(A, B)
    embedder.rows(*sides, range(len(A)))
    embedder.rows(*sides, range(len(A)))
    assert sum(calls) == len(set(B))


# -- weight decay: what the towers name (Encoder.no_weight_decay) replaced matching "norm" in parameter names -------
def _old_decay(model: torch.nn.Module) -> dict[str, bool]:
    """The rule before the towers named their parameters: no decay for 1-d tensors and names holding "norm"."""
    return {n: not (p.ndim < 2 or "LayerNorm" in n or "norm" in n.lower()) for n, p in model.named_parameters()}


def _decay(model: torch.nn.Module) -> dict[str, bool]:
    decayed = {id(p): g["weight_decay"] > 0 for g in param_groups(model, 1e-3, 0.01, {}) for p in g["params"]}
    return {n: decayed[id(p)] for n, p in model.named_parameters()}


PRESETS = [
    "digits-mlp-twin",
    "mnist-mlp-twin",
    "mnist-cnn-twin",
    "tfidf-twin",
    pytest.param("minilm-twin", marks=needs_minilm),
    pytest.param("minilm-pseudo", marks=needs_minilm),
    pytest.param("minilm-stance", marks=needs_minilm),
    pytest.param("minilm-cross", marks=needs_minilm),
    pytest.param("title-lstm-body-minilm", marks=needs_minilm),
    pytest.param("coco-effnet-minilm", marks=[needs_minilm, needs_vision]),
]


@pytest.mark.parametrize("preset", PRESETS)
def test_the_optimizer_groups_of_every_preset_are_the_ones_of_the_name_rule(preset):
    model = create_model(preset, seed=0)
    model.requires_grad_(True)  # every parameter, frozen ones too, is checked
    assert _decay(model) == _old_decay(model)
    for tower in {id(t): t for t in (model.left, model.right)}.values():
        named, shapes = tower.no_weight_decay(), {n: p.ndim for n, p in tower.named_parameters()}
        assert {n for n in shapes if "norm" in n.lower()} <= named  # all the name match caught (BERT's LayerNorms)
        assert all(shapes[n] < 2 for n in named)  # and beyond it only 1-d tensors (EfficientNet's BatchNorms)


def test_a_tower_names_its_own_parameters_to_keep_out_of_weight_decay():
    class Scaled(Counted):
        def no_weight_decay(self) -> set[str]:
            return {"table.weight"}

    model = TwinModel(Scaled(A + B))
    assert _decay(model) == {"encoder.table.weight": False}
    assert _decay(TwinModel(Counted(A + B))) == {"encoder.table.weight": True}
