from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

import textsiam
from tests.helpers.fixtures import ROOT
from textsiam.api import list_components
from textsiam.errors import ConfigError
from textsiam.registry import ALL_REGISTRIES, Registry, RenamedWarning


def test_duplicate_name_is_an_error():
    reg = Registry("things", "thing")
    reg.register("a", object())
    with pytest.raises(ValueError, match="already has an entry named 'a'"):
        reg.register("a", object())


def test_unknown_name_is_a_config_error_listing_names_and_the_closest():
    reg = Registry("losses", "loss")

    @reg.register("contrastive")
    class Contrastive:
        """Contrastive loss."""

    reg.register("cosent", object(), description="CoSENT")
    with pytest.raises(ConfigError) as err:
        reg.get("contrastiv")
    message = str(err.value)
    assert message.startswith("unknown loss 'contrastiv'. Did you mean 'contrastive'?")
    assert "Valid losses: contrastive, cosent" in message and "textsiam list losses" in message
    with pytest.raises(ConfigError, match="unknown loss 3"):
        reg.get(3)
    assert reg.describe() == {"contrastive": "Contrastive loss.", "cosent": "CoSENT"}


def _renamed() -> tuple[Registry, type]:
    """A test-only registry where ``"mean-pool"`` was renamed ``"mean"`` (``"avg"`` is an older name still)."""
    reg = Registry("poolers", "pooler")

    @reg.register("mean", aliases=("mean-pool", "avg"))
    class Mean:
        """Mean of the token vectors."""

        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

    reg.register("max", object(), description="Max over tokens")
    return reg, Mean


def test_an_alias_warns_naming_both_names_and_builds_the_same_component():
    reg, mean = _renamed()
    with pytest.warns(RenamedWarning, match=r"pooler 'mean-pool' was renamed to 'mean'.*Save the model again"):
        assert reg.get("mean-pool") is mean
    with pytest.warns(RenamedWarning, match="'avg' was renamed to 'mean'"):
        built = reg.build("avg", scale=2.0)
    assert type(built) is mean and built.scale == 2.0
    assert reg.name_of(built) == "mean" and reg.name_of(mean) == "mean"  # a re-saved config carries the new name
    with pytest.warns(RenamedWarning):
        assert reg.canonical("mean-pool") == "mean"
    assert "mean-pool" in reg and "avg" in reg
    assert issubclass(RenamedWarning, FutureWarning)  # shown to users by default, unlike DeprecationWarning


def test_the_registered_name_does_not_warn_and_listings_show_only_registered_names():
    reg, mean = _renamed()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reg.get("mean") is mean
        assert reg.canonical("mean") == "mean"
        assert reg.meta("mean") == {}
    assert reg.names() == ["max", "mean"] and list(reg) == ["max", "mean"] and len(reg) == 2
    assert reg.aliases("mean") == ["avg", "mean-pool"] and reg.aliases("max") == []
    assert reg.describe() == {"max": "Max over tokens", "mean": "Mean of the token vectors. (alias: avg, mean-pool)"}


def test_unknown_names_still_suggest_the_closest_registered_name():
    reg, _ = _renamed()
    with pytest.raises(ConfigError, match=r"unknown pooler 'maen'\. Did you mean 'mean'\? Valid poolers: max, mean \("):
        reg.get("maen")


@pytest.mark.parametrize(
    ("name", "aliases", "taken"),
    [
        ("mean-pool", (), "an alias named 'mean-pool'"),  # a new entry under an old name
        ("sum", ("mean",), "an entry named 'mean'"),  # an alias shadowing an entry
        ("sum", ("avg",), "an alias named 'avg'"),  # two entries claiming one old name
        ("max", ("maximum",), "an entry named 'max'"),
    ],
)
def test_names_and_aliases_collide_as_errors(name, aliases, taken):
    reg, _ = _renamed()
    with pytest.raises(ValueError, match=f"already has {taken}; names must be unique"):
        reg.register(name, object(), aliases=aliases)
    assert reg.names() == ["max", "mean"]  # a refused registration leaves nothing behind


def test_an_alias_equal_to_its_own_name_is_an_error():
    reg = Registry("things", "thing")
    with pytest.raises(ValueError, match="repeated names"):
        reg.register("a", object(), aliases=("a",))
    with pytest.raises(ValueError, match="repeated names"):
        reg.register("b", object(), aliases=("old", "old"))
    assert len(reg) == 0


SINGULARS = {
    "encoders": "encoder",
    "poolers": "pooler",
    "similarities": "similarity",
    "heads": "head",
    "pair_models": "pair model",
    "losses": "loss",
    "readers": "reader",
    "datasets": "dataset",
    "presets": "preset",
    "strategies": "strategy",
    "calibrators": "calibrator",
    "exporters": "export format",
    "catalog": "catalogued dataset",
    "trackers": "tracker",
}


@pytest.mark.parametrize("kind", sorted(ALL_REGISTRIES))
def test_every_registry_spells_its_singular(kind):
    assert ALL_REGISTRIES[kind].singular == SINGULARS[kind]
    with pytest.raises(ConfigError, match=rf"^unknown {SINGULARS[kind]} 'no-such-name'\. Valid "):
        ALL_REGISTRIES[kind].get("no-such-name")


def test_name_of_a_class_a_function_and_an_instance():
    reg = Registry("things", "thing")

    @reg.register("klass")
    class Klass:
        pass

    @reg.register("func")
    def func() -> None:
        pass

    assert reg.name_of(Klass) == "klass"
    assert reg.name_of(Klass()) == "klass"
    assert reg.name_of(func) == "func"

    class Sub(Klass):  # a subclass is not the registered component
        pass

    with pytest.raises(ConfigError, match="is not a registered thing"):
        reg.name_of(Sub())


def test_meta_keywords_are_stored_per_name():
    reg = Registry("readers", "reader")
    reg.register("stsb", lambda path: path, patterns=("sts-*.csv",), description="STS-B")
    reg.register("csv", lambda path: path)
    assert reg.meta("stsb") == {"patterns": ("sts-*.csv",)}
    assert reg.meta("csv") == {}
    reg.meta("stsb")["patterns"] = ()  # a copy: the registry keeps its own
    assert reg.meta("stsb") == {"patterns": ("sts-*.csv",)}
    with pytest.raises(ConfigError, match="unknown reader 'tsv'"):
        reg.meta("tsv")


def test_every_registry_is_filled_and_described():
    textsiam.load_components()
    for kind, reg in ALL_REGISTRIES.items():
        assert len(reg) > 0, kind
        for name, desc in reg.describe().items():
            assert desc, f"{kind} entry {name!r} has no one-line description"
            assert reg.name_of(reg.get(name)) == name


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
    assert {"youden", "max-accuracy", "max-f1", "eer", "tpr-at-fpr", "precision-at-recall"} <= set(found["strategies"])
    assert {"platt", "isotonic"} <= set(found["calibrators"])


def test_list_components_rejects_unknown_kind():
    with pytest.raises(ConfigError, match="unknown component kind 'widgets'"):
        list_components("widgets")


def test_textsiam_list_strategies():
    from textsiam.cli.main import main

    assert main(["list", "strategies"]) == 0


# One fresh interpreter per subpackage: import only it, then build one of its components. A registry lookup would
# fill a missing registry by itself, so each case first checks that the subpackage's own imports registered the
# components it depends on (e.g. encoders/hf.py needs the poolers of textsiam.layers).
FRESH_IMPORTS = {
    "textsiam.layers": (
        ("poolers", "similarities", "heads"),
        [
            "import torch",
            "from textsiam.registry import POOLERS, HEADS",
            "assert HEADS.build('mlp-head', dim=4)(torch.randn(2, 4), torch.randn(2, 4)).shape == (2,)",
            "assert POOLERS.build('mean')(torch.randn(2, 3, 4), torch.ones(2, 3)).shape == (2, 4)",
        ],
    ),
    "textsiam.encoders": (
        ("encoders", "poolers"),
        [
            "from textsiam.registry import ENCODERS",
            "enc = ENCODERS.build('hf-transformer', model_name_or_path=sys.argv[1], pooling='mean')",
            "assert enc(enc.collate(['a man', 'a dog runs'])).shape == (2, 32)",
        ],
    ),
    "textsiam.models": (
        ("pair_models", "presets", "encoders", "similarities", "heads"),
        [
            "from textsiam.models import create_model",
            "model = create_model('digits-mlp-twin', seed=0)",
            "assert model.similarity_scores([[0.5] * 64], [[0.1] * 64]).shape == (1,)",
            "from textsiam.registry import PAIR_MODELS",  # a lookup also imports the ridge-map's own package
            "assert PAIR_MODELS.get('ridge-map').__module__ == 'textsiam.ridge.model'",
        ],
    ),
    "textsiam.ridge": (
        ("pair_models", "encoders"),
        [
            "from textsiam.registry import ENCODERS, PAIR_MODELS",
            "towers = [ENCODERS.build('mlp', in_features=6, hidden=h, n_layers=2) for h in (8, 5)]",
            "model = PAIR_MODELS.build('ridge-map', left=towers[0], right=towers[1], prior_weight=0, "
            "class_match_weight=0)",
            "assert model.similarity_scores([[0.5] * 6], [[0.1] * 6]).shape == (1,)",
        ],
    ),
    "textsiam.deploy": (
        ("exporters", "pair_models", "encoders"),
        [
            "from textsiam.registry import EXPORTERS",
            "from textsiam.deploy.export import Exporter",
            "assert all(isinstance(EXPORTERS.build(name), Exporter) for name in EXPORTERS.names())",
        ],
    ),
    "textsiam.losses": (
        ("losses", "similarities"),
        [
            "import torch",
            "from textsiam.registry import LOSSES",
            "loss = LOSSES.build('contrastive', distance='cosine')",
            "assert loss(torch.randn(3, 4), torch.randn(3, 4), torch.tensor([1.0, 0.0, 1.0])).dim() == 0",
        ],
    ),
    "textsiam.data": (
        ("readers", "datasets", "catalog"),
        ["from textsiam.registry import DATASETS", "assert len(DATASETS.build('digits', split='dev', n_pairs=4)) == 4"],
    ),
    "textsiam.eval": (
        ("strategies", "calibrators"),
        [
            "from textsiam.registry import CALIBRATORS",
            "from textsiam.eval import select_threshold",
            "assert select_threshold([0.1, 0.9], [0, 1], 'max-f1').threshold == 0.5",
            "assert CALIBRATORS.build('platt').fit([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]).a_ > 0",
        ],
    ),
    "textsiam.train": (
        (),  # imported lazily (TrainConfig's fields make CLI flags without torch): the losses fill on first lookup
        [
            "from textsiam.train import TrainConfig",
            "assert TrainConfig(loss='cosent+multiple-negatives').loss == 'cosent+multiple-negatives'",
        ],
    ),
}


# One process pays for the third-party imports (torch, transformers, datasets: seconds each) once, holding no module
# of textsiam, and forks one child per subpackage: each child starts with no textsiam module loaded, as a fresh
# interpreter would, so what it registers comes from importing its subpackage alone.
_FORKING_RUNNER = """
import json, os, sys, traceback
import datasets, numpy, torch, transformers
assert not [m for m in sys.modules if m.split('.')[0] == 'textsiam'], 'the runner imported textsiam before forking'
cases, folder, argv = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3:]
codes = {}
for package, code in cases.items():
    pid = os.fork()
    if pid == 0:
        sys.argv = ['-c', *argv]
        with open(os.path.join(folder, package + '.err'), 'w') as err:
            try:
                exec(compile(code, package, 'exec'), {'__name__': '__main__'})
            except BaseException:
                traceback.print_exc(file=err)
                err.flush()
                os._exit(1)
        os._exit(0)
    codes[package] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(codes))
"""


@pytest.fixture(scope="module")
def fresh_imports(tiny_bert_dir, tmp_path_factory) -> dict[str, tuple[int, str]]:
    """``{package: (exit code, traceback)}`` of each FRESH_IMPORTS case, each run in a child with no textsiam module."""
    cases = {}
    for package, (kinds, build) in FRESH_IMPORTS.items():
        cases[package] = "\n".join(
            [
                "import sys",
                f"import {package}",
                "from textsiam.registry import ALL_REGISTRIES",
                f"empty = [k for k in {kinds!r} if not ALL_REGISTRIES[k]._entries]  # before any lookup fills them",
                f"assert not empty, 'importing {package} alone left these registries empty: ' + str(empty)",
                *build,
            ]
        )
    folder = tmp_path_factory.mktemp("fresh-imports")
    cmd = [sys.executable, "-c", _FORKING_RUNNER, json.dumps(cases), str(folder), str(tiny_bert_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    codes = json.loads(out.stdout.strip().splitlines()[-1])
    return {package: (code, (folder / f"{package}.err").read_text()) for package, code in codes.items()}


@pytest.mark.isa_independent  # not in test.sh's avx2 pass: which modules an import registers
@pytest.mark.parametrize("package", sorted(FRESH_IMPORTS))
def test_each_subpackage_fills_its_registries_alone(package, fresh_imports):
    code, traceback = fresh_imports[package]
    assert code == 0, traceback[-3000:]


@pytest.mark.parametrize("loss", ["contrastiv", "cosent+multiple-negativs", "+cosent"])
def test_train_config_refuses_an_unknown_loss_at_construction(loss):
    from textsiam.train import TrainConfig

    with pytest.raises(ConfigError, match=r"unknown loss '(contrastiv|multiple-negativs|)'\. .*Valid losses: bce"):
        TrainConfig(loss=loss)
    with pytest.raises(ConfigError, match="unknown loss"):
        TrainConfig.from_dict({"loss": loss})
