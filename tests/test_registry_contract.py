"""Contract over every entry of the registries without a contract file of their own: build it from its recipe, run
it, round-trip its config through JSON and check the rebuilt component does the same.

A newly registered name needs a recipe in RECIPES below (the keyword arguments or the small input its kind needs);
without one its contract case fails and says where to add it. Encoders, losses and similarities of models have
their own contracts: tests/encoders/test_encoders.py and tests/losses/test_losses_contract.py; the dataset catalogue
in tests/data/test_catalog.py.
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.helpers.fixtures import (
    BATCHED,
    RELOADED,
    make_coco,
    make_flickr8k,
    make_mnist,
    make_tiny_bert,
    needs_glove,
    needs_minilm,
    needs_mpnet,
    needs_vision,
    write_images,
)
from textsiam.data import ReadOptions, read_pairs
from textsiam.errors import ConfigError
from textsiam.eval import calibrator_from_dict, select_threshold
from textsiam.eval.metrics import confusion_at
from textsiam.eval.strategies import ThresholdStrategy
from textsiam.models import build_model, create_model
from textsiam.registry import ALL_REGISTRIES, ENCODERS, PAIR_MODELS
from textsiam.train import TrainConfig

TEXTS_A = ["a man plays the guitar", "a dog runs in the park", "two children read a book"]
TEXTS_B = ["a woman plays piano", "a dog is running", "the cat eats"]


def _json(value: Any) -> Any:
    """``value`` after a trip through JSON text (what a saved config.json gives back)."""
    return json.loads(json.dumps(value))


def _assert_within(expected: Any, actual: Any, where: str) -> None:
    """Every key of ``expected`` (recursively) is in ``actual`` with the same value; ``actual`` may hold more."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            if key != "description":
                assert key in actual, f"{where}: {key!r} is lost in the built model's config"
                _assert_within(value, actual[key], f"{where}.{key}")
    else:
        assert expected == actual, f"{where}: {expected!r} became {actual!r}"


def _vectors(n: int, dim: int, seed: int = 0) -> list[np.ndarray]:
    return list(np.random.default_rng(seed).random((n, dim), dtype=np.float32))


@functools.cache
def _tiny_bert_folder() -> Path:
    return make_tiny_bert(Path(tempfile.mkdtemp(prefix="contract-tiny-bert-")))


def _tiny_bert_tower() -> Any:
    return ENCODERS.build("hf-transformer", model_name_or_path=str(_tiny_bert_folder()))


def _mlp(in_features: int, hidden: int = 8) -> Any:
    return ENCODERS.build("mlp", in_features=in_features, hidden=hidden, n_layers=2)


def _write(name: str, text: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_text(text, encoding="utf-8")
        return folder / name

    return write


def _write_parquet(folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text_a": TEXTS_A, "text_b": TEXTS_B, "label": [1.0, 0.0, 1.0]})
    pq.write_table(table, folder / "pairs.parquet")
    return folder / "pairs.parquet"


def _write_fnc1(folder: Path) -> Path:
    import csv

    for name, rows in (
        ("train_bodies.csv", [["Body ID", "articleBody"], *([str(i), b] for i, b in enumerate(TEXTS_B))]),
        (
            "train_stances.csv",
            [["Headline", "Body ID", "Stance"], *zip(TEXTS_A, "012", ["agree", "unrelated", "discuss"])],
        ),
    ):
        with open(folder / name, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
    return folder / "train_stances.csv"


def _rows(sep: str, header: list[str] | None, labels: list[str]) -> str:
    lines = [sep.join(header)] if header else []
    lines += [sep.join([lab, a, b]) for lab, a, b in zip(labels, TEXTS_A, TEXTS_B)]
    return "\n".join(lines) + "\n"


STSB = "".join(
    f"main-captions\tMSRvid\t2012test\t{i:04d}\t{lab}\t{a}\t{b}\n"
    for i, (lab, a, b) in enumerate(zip(["5.000", "0.500", "3.200"], TEXTS_A, TEXTS_B))
)
MRPC = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" + "".join(
    f"{lab}\t{i}\t{i + 10}\t{a}\t{b}\n" for i, (lab, a, b) in enumerate(zip("101", TEXTS_A, TEXTS_B))
)
JSONL = "".join(
    json.dumps({"text_a": a, "text_b": b, "label": lab}) + "\n" for a, b, lab in zip(TEXTS_A, TEXTS_B, "101")
)


def _image_caption_recipe() -> dict[str, Any]:
    """The recipe of an image-caption preset (EfficientNet + MiniLM): 3 random photos and 3 captions."""
    images = list(np.random.default_rng(0).integers(0, 256, (3, 40, 50, 3), dtype=np.uint8))
    return {"a": images, "b": TEXTS_B, "marks": [needs_minilm, needs_vision]}


# kind -> name -> recipe. What a recipe holds depends on the kind (see the runner of that kind below):
#   poolers, similarities, calibrators: constructor kwargs
#   heads: constructor kwargs (``dim`` included)
#   pair_models: a function returning the constructor kwargs (towers are built fresh for each call)
#   presets: {"a": items, "b": items} to score, and optional pytest "marks" (needs_minilm)
#   readers: {"write": folder -> path of a small file, "expected_labels": [...], "args": read_pairs kwargs}
#   datasets: kwargs giving a small split
#   strategies: {"target": the target= value, None for strategies without one}
#   exporters: {"create": create_model kwargs for a tiny-BERT twin, "dropped": what dropped_parts reports, "needs":
#       optional packages (skipped without them)}; textsiam reads the exported folder back (a sentence-transformers
#       or transformers layout) and must embed the same
RECIPES: dict[str, dict[str, Any]] = {
    "poolers": {"mean": {}, "cls": {}, "max": {}},
    "similarities": {"cosine": {}, "euclidean": {}, "manhattan": {}, "dot": {}},
    "heads": {
        "mlp-head": {"dim": 6, "features": ["abs-diff", "sq-diff", "product", "concat", "cosine"], "hidden": 5},
        "pair-classifier": {"dim": 6, "classes": ["no", "maybe", "yes"], "negative": "no", "hidden": 5},
    },
    "pair_models": {
        "twin": lambda: {"encoder": _mlp(6), "similarity": "euclidean", "projection_dim": 4},
        "pseudo": lambda: {
            "left": _mlp(6),
            "right": _mlp(6, hidden=5),
            "projection_dim": 4,
            "head": {"name": "mlp-head", "args": {"hidden": 3}},
        },
        "cross": lambda: {"encoder": _tiny_bert_tower()},  # reads both texts together (runner: forward_pairs)
        "two-stage": lambda: {  # whole models as parts: a gate with a negative class, a stance model for the rest
            "gate": PAIR_MODELS.build(
                "twin",
                encoder=_tiny_bert_tower(),
                head={"name": "pair-classifier", "args": {"classes": ["no", "maybe", "yes"], "negative": "no"}},
            ),
            "stance": PAIR_MODELS.build("cross", encoder=_tiny_bert_tower(), classes=["yes", "maybe"]),
        },
        "ridge-map": lambda: {  # closed form, without the class prior (an MLP tower has no classes)
            "left": _mlp(6),
            "right": _mlp(6, hidden=5),
            "prior_weight": 0.0,
            "class_match_weight": 0.0,
        },
    },
    "presets": {
        "digits-mlp-twin": {"a": _vectors(3, 64), "b": _vectors(3, 64, seed=1)},
        "minilm-twin": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_minilm]},
        "mnist-mlp-twin": {"a": _vectors(3, 784), "b": _vectors(3, 784, seed=1)},
        "mnist-cnn-twin": {"a": _vectors(3, 784), "b": _vectors(3, 784, seed=1)},
        "coco-effnet-minilm": _image_caption_recipe(),
        "coco-effnet-minilm-ridge": _image_caption_recipe(),
        "flickr8k-effnet-minilm": _image_caption_recipe(),
        "flickr8k-effnet-minilm-ridge": _image_caption_recipe(),
        "minilm-pseudo": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_minilm]},
        "title-lstm-body-minilm": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_minilm, needs_glove]},
        "tfidf-twin": {"a": TEXTS_A, "b": TEXTS_B},
        "minilm-stance": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_minilm]},
        "minilm-cross": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_minilm]},
        "mpnet-cross": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_mpnet]},
        "minilm-cross-stance": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_minilm]},  # 3 classes, no negative
        "mpnet-twin": {"a": TEXTS_A, "b": TEXTS_B, "marks": [needs_mpnet]},
        "stance-tfidf-mlp": {"a": TEXTS_A, "b": TEXTS_B},
    },
    "readers": {
        "stsb": {"write": _write("sts-test.csv", STSB), "expected_labels": [5.0, 0.5, 3.2]},
        "mrpc": {"write": _write("msr_paraphrase_test.txt", MRPC), "expected_labels": [1.0, 0.0, 1.0]},
        "csv": {
            "write": _write("pairs.csv", _rows(",", ["label", "sentence1", "sentence2"], ["4", "0", "2.5"])),
            "expected_labels": [4.0, 0.0, 2.5],
        },
        "tsv": {
            "write": _write("pairs.tsv", _rows("\t", ["y", "left", "right"], ["1", "0", "1"])),
            "expected_labels": [1.0, 0.0, 1.0],
            "args": {"text_a": "left", "text_b": "right", "label": "y"},
        },
        "jsonl": {"write": _write("pairs.jsonl", JSONL), "expected_labels": [1.0, 0.0, 1.0]},
        "parquet": {"write": _write_parquet, "expected_labels": [1.0, 0.0, 1.0]},
        "mnist": {"run": lambda tmp: _image_reader("mnist", make_mnist(tmp / "mnist", n=20), split="train", pairs=10)},
        "coco": {"run": lambda tmp: _image_reader("coco", make_coco(tmp / "coco_mini"), split="train2017")},
        "flickr8k": {
            "run": lambda tmp: _image_reader("flickr8k", make_flickr8k(tmp / "flickr8k", stray=False)[0], split="dev")
        },
        "image-csv": {"run": lambda tmp: _image_reader("image-csv", _image_table(tmp, ","))},
        "image-tsv": {"run": lambda tmp: _image_reader("image-tsv", _image_table(tmp, "\t"))},
        "fnc1": {"write": _write_fnc1, "expected_labels": [1.0, 0.0, 1.0]},
    },
    "datasets": {"digits": {"split": "dev", "n_pairs": 12, "seed": 3}},
    "strategies": {
        "youden": {"target": None},
        "max-accuracy": {"target": None},
        "max-f1": {"target": None},
        "eer": {"target": None},
        "tpr-at-fpr": {"target": 0.25},
        "precision-at-recall": {"target": 0.6},
    },
    "calibrators": {"platt": {}, "isotonic": {}},
    "exporters": {
        "sentence-transformers": {"create": {"projection_dim": 4, "encoder_args": {"pooling": "cls"}}, "dropped": []},
        "hf": {"create": {}, "dropped": ["mean pooling"]},
        "onnx": {"create": {"projection_dim": 4}, "dropped": [], "needs": ["onnxruntime", "onnxscript"]},
    },
}


# ---------------------------------------------------------------------------------------------- runners per kind


def run_pooler(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    torch.manual_seed(0)
    tokens = torch.randn(3, 5, 4, requires_grad=True)  # (batch, seq, dim)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    pooler = registry.build(name, **recipe)
    out = pooler(tokens, mask)
    assert out.shape == (3, 4) and torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(tokens.grad).all()
    noisy = tokens.detach().masked_fill(~mask.bool().unsqueeze(-1), 1e4)  # padding must never count
    torch.testing.assert_close(pooler(noisy, mask), out.detach())  # float32 defaults: means / maxes of <= 5 rows
    rebuilt = registry.build(name, **_json(pooler.get_config()))
    torch.testing.assert_close(rebuilt(tokens, mask), out)


def run_similarity(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    torch.manual_seed(0)
    u, v = torch.randn(4, 6, requires_grad=True), torch.randn(4, 6)
    sim = registry.build(name, **recipe)
    scores = sim(u, v)
    assert scores.shape == (4,) and torch.isfinite(scores).all()
    # one matrix product vs row-wise sums of 4-dim products: BATCHED (helpers/fixtures.py)
    torch.testing.assert_close(torch.diagonal(sim.pairwise(u, v)), scores, atol=BATCHED, rtol=BATCHED)
    torch.testing.assert_close(sim.distance(u, v).argsort(), (-scores).argsort())  # closer = more similar
    scores.sum().backward()
    assert torch.isfinite(u.grad).all()
    rebuilt = registry.build(name, **_json(sim.get_config()))
    torch.testing.assert_close(rebuilt(u, v), scores, atol=0, rtol=0)  # the same function on the same tensors


def run_head(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    torch.manual_seed(0)
    dim = recipe["dim"]
    u, v = torch.randn(4, dim, requires_grad=True), torch.randn(4, dim)
    head = registry.build(name, **recipe).eval()
    logits = head(u, v)
    classes = getattr(head, "classes", None)  # a multi-class head: one logit per class
    assert logits.shape == ((4, len(classes)) if classes else (4,)) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert torch.isfinite(u.grad).all()
    rebuilt = registry.build(name, dim=dim, **_json(head.get_config())).eval()
    rebuilt.load_state_dict(head.state_dict())
    torch.testing.assert_close(rebuilt(u, v), logits, atol=0, rtol=0)  # the same weights on the same tensors


def run_pair_model(registry, name: str, recipe: Callable[[], dict], tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = registry.build(name, **recipe()).eval()
    if type(model).submodel_keys:  # made of trained models (two-stage): scores through them, nothing to train
        a, b = TEXTS_A, TEXTS_B
        scores = torch.as_tensor(model.similarity_scores(a, b))
    elif model.training_kind == "pairs":  # reads both items of a pair together: one logit per pair, no embeddings
        a, b = TEXTS_A, TEXTS_B
        scores = model.forward_pairs(model.collate_pairs(a, b))
    else:
        a, b = _vectors(4, 6), _vectors(4, 6, seed=1)
        u, v = model(model.left.collate(a), model.right.collate(b))
        scores = model.score(u, v)
    n = len(a)
    assert scores.shape == (n,) and torch.isfinite(scores).all()
    if scores.requires_grad:  # a closed-form model (ridge-map) has nothing to train
        scores.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    config = model.get_config()
    assert config["pair_model"] == name == PAIR_MODELS.name_of(model)
    rebuilt = build_model(_json(config)).eval()
    rebuilt.load_state_dict(model.state_dict())
    np.testing.assert_allclose(rebuilt.similarity_scores(a, b), model.similarity_scores(a, b), atol=RELOADED)


def run_preset(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    preset = registry.get(name)
    assert _json(preset) == preset, "a preset is data: it must survive JSON unchanged"
    TrainConfig.from_dict(preset.get("train", {}), source=f"preset {name}")  # its training defaults are valid
    model = create_model(name, seed=0).eval()
    model.fit_vocabulary(recipe["a"], recipe["b"])  # towers with a vocabulary (lstm, tfidf) build it first
    scores = model.pair_outputs(recipe["a"], recipe["b"]).numpy()  # scores, or logits of a model with classes
    assert scores.shape[0] == len(recipe["a"]) and np.isfinite(scores).all()
    _assert_within(preset["model"], _json(model.get_config()), where=f"preset {name}")
    rebuilt = build_model(_json(model.get_config())).eval()
    rebuilt.fit_vocabulary(recipe["a"], recipe["b"])
    rebuilt.load_state_dict(model.state_dict())
    np.testing.assert_allclose(rebuilt.pair_outputs(recipe["a"], recipe["b"]).numpy(), scores, atol=BATCHED)


def _image_table(tmp_path: Path, sep: str) -> Path:
    files = write_images(tmp_path / "img", 3, (10, 10))
    path = tmp_path / f"pairs.images.{'csv' if sep == ',' else 'tsv'}"
    path.write_text(
        f"image_a{sep}image_b{sep}label\n{files[0]}{sep}{files[1]}{sep}1\n{files[1]}{sep}{files[2]}{sep}0\n"
    )
    return path


def _image_reader(name: str, path: Path, **args: Any) -> None:
    """Image readers: the contract call, the same pairs again through read_pairs (also detected by name), and the
    carved dev pairs written back as a table that image-tsv reads (absolute image references)."""
    from textsiam.data.image_table import write_image_pairs
    from textsiam.registry import READERS

    data = READERS.get(name)(path, ReadOptions(**args, seed=1))
    assert len(data) >= 2 and data.labels.tolist().count(1.0) >= 1 and data.labels.tolist().count(0.0) >= 1
    for spec in ({"format": name, **args, "seed": 1}, {**args, "seed": 1}):
        again = read_pairs(path, **_json(spec))
        assert (again.a, again.b, again.labels.tolist()) == (data.a, data.b, data.labels.tolist())
    write_image_pairs(path.parent / "copy.images.tsv", data)
    copy = read_pairs(path.parent / "copy.images.tsv")
    assert (copy.b, copy.labels.tolist()) == (data.b, data.labels.tolist()) and copy.right_is_text == data.right_is_text


def run_reader(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    if "run" in recipe:  # formats whose items are not text (images) check themselves
        recipe["run"](tmp_path)
        return
    path = recipe["write"](tmp_path)
    spec = {"format": name, **recipe.get("args", {})}
    data = registry.get(name)(path, ReadOptions(**recipe.get("args", {})))  # the reader contract: path, options
    assert (data.a, data.b) == (TEXTS_A, TEXTS_B)
    np.testing.assert_allclose(data.labels, recipe["expected_labels"], rtol=1e-6)  # float32 labels: one rounding
    again = read_pairs(path, **_json(spec))  # a run records how it read its data; the record reads it again
    assert (again.a, again.b, again.labels.tolist()) == (data.a, data.b, data.labels.tolist())
    assert again.fingerprint() == _json(data.fingerprint())
    detected = read_pairs(path, **recipe.get("args", {}))  # the recipe's file name is one that detects the format
    assert (detected.a, detected.labels.tolist()) == (data.a, data.labels.tolist())
    data.to_tsv(tmp_path / "copy.tsv")
    copy = read_pairs(tmp_path / "copy.tsv")
    assert (copy.a, copy.b, copy.labels.tolist()) == (data.a, data.b, data.labels.tolist())


def run_dataset(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    data = registry.build(name, **recipe)
    assert len(data) == recipe.get("n_pairs", len(data)) > 0 and data.has_labels
    again = registry.build(name, **_json(recipe))
    np.testing.assert_array_equal(np.asarray(again.a), np.asarray(data.a))
    np.testing.assert_array_equal(again.labels, data.labels)
    assert again.fingerprint() == _json(data.fingerprint())


def run_strategy(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    strategy = registry.get(name)
    assert isinstance(strategy, ThresholdStrategy) and strategy.help
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60)
    scores = np.round(labels + rng.normal(scale=0.9, size=60), 1)  # rounded: ties between scores
    result = select_threshold(scores, labels, name, recipe["target"])
    applied = confusion_at(scores, labels, result.threshold)
    assert {k: result.metrics[k] for k in applied} == applied
    assert _json(result.to_dict()) == result.to_dict()
    assert (
        select_threshold(scores[::-1], labels[::-1], **_json({"strategy": name, "target": recipe["target"]})) == result
    )
    if strategy.needs_target:
        with pytest.raises(ConfigError, match="needs target="):
            select_threshold(scores, labels, name)
    else:
        with pytest.raises(ConfigError, match="takes no target"):
            select_threshold(scores, labels, name, 0.5)


def run_calibrator(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 80)
    scores = labels + rng.normal(scale=0.8, size=80)
    calibrator = registry.build(name, **recipe).fit(scores, labels)
    grid = np.linspace(scores.min() - 1, scores.max() + 1, 50)
    probs = calibrator.predict_proba(grid)
    assert np.all((probs >= 0) & (probs <= 1)) and np.all(np.diff(probs) >= -1e-12)  # a monotone probability
    saved = _json(calibrator.to_dict())
    assert saved["name"] == name
    np.testing.assert_array_equal(calibrator_from_dict(saved).predict_proba(grid), probs)


def _folder(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def run_exporter(registry, name: str, recipe: dict, tmp_path: Path) -> None:
    from textsiam.deploy.export import Exporter, dropped_parts, export_model

    for package in recipe.get("needs", []):
        pytest.importorskip(package, reason=f"the {name} exporter needs {package} (its extra is not installed)")

    assert isinstance(registry.build(name), Exporter) and registry.name_of(registry.build(name)) == name
    model = create_model(str(make_tiny_bert(_folder(tmp_path / "bert"))), seed=0, **recipe["create"]).eval()
    with torch.no_grad():
        for p in model.parameters():  # away from the saved initial weights: the export must carry the trained ones
            p.add_(0.05 * torch.randn_like(p))
    out = export_model(model, tmp_path / "out", format=_json(name))
    again = create_model(str(out)).eval()  # textsiam reads both layouts back
    torch.testing.assert_close(again.encode(TEXTS_A), model.encode(TEXTS_A), atol=BATCHED, rtol=0)
    assert dropped_parts(model, name) == recipe["dropped"]
    with pytest.raises(ConfigError, match="already exists and is not an empty folder"):
        export_model(model, out, format=name)


RUNNERS: dict[str, Callable[..., None]] = {
    "poolers": run_pooler,
    "similarities": run_similarity,
    "heads": run_head,
    "pair_models": run_pair_model,
    "presets": run_preset,
    "readers": run_reader,
    "datasets": run_dataset,
    "strategies": run_strategy,
    "calibrators": run_calibrator,
    "exporters": run_exporter,
}
OWN_CONTRACT = {
    "encoders": "tests/encoders/test_encoders.py",
    "losses": "tests/losses/test_losses_contract.py",
    "catalog": "tests/data/test_catalog.py",
    "trackers": "tests/train/test_tracking.py",
}


def _cases() -> list:
    cases = []
    for kind, registry in ALL_REGISTRIES.items():
        if kind in OWN_CONTRACT:
            continue
        for name in registry.names():
            marks = RECIPES.get(kind, {}).get(name, {}).get("marks", []) if kind == "presets" else []
            cases.append(pytest.param(kind, name, id=f"{kind}:{name}", marks=marks))
    return cases


@pytest.mark.parametrize(("kind", "name"), _cases())
def test_contract(kind, name, tmp_path):
    registry = ALL_REGISTRIES[kind]
    if kind not in RUNNERS:
        pytest.fail(
            f"registry {kind!r} has no contract: add a runner to RUNNERS in {__file__} or list it in OWN_CONTRACT"
        )
    if name not in RECIPES.get(kind, {}):
        pytest.fail(
            f"{registry.singular} {name!r} has no contract recipe: add RECIPES[{kind!r}][{name!r}] in "
            f"tests/test_registry_contract.py (what a recipe holds for {kind} is described above RECIPES; "
            "see DEVELOPERS.md, 'Adding a component')"
        )
    RUNNERS[kind](registry, name, RECIPES[kind][name], tmp_path)


def test_every_recipe_names_a_registered_component():
    """A recipe left behind by a renamed or removed component is an error too."""
    stale = [
        f"{kind}:{name}" for kind, recipes in RECIPES.items() for name in recipes if name not in ALL_REGISTRIES[kind]
    ]
    assert not stale, f"recipes for names that are not registered: {stale}"
    assert set(RECIPES) <= set(RUNNERS) and set(RUNNERS) | set(OWN_CONTRACT) == set(ALL_REGISTRIES)


def test_a_name_without_recipe_fails_with_where_to_add_it(monkeypatch):
    monkeypatch.setitem(RECIPES, "poolers", {k: v for k, v in RECIPES["poolers"].items() if k != "max"})
    with pytest.raises(pytest.fail.Exception, match=r"pooler 'max' has no contract recipe: add RECIPES\['poolers'\]"):
        test_contract("poolers", "max", Path("."))
