"""Export a model's towers to folders other tools load, without textsiam.

``sentence-transformers``: a folder ``SentenceTransformer(OUT)`` loads and that gives the same embeddings (the
transformer, the pooling, Dense layers, Normalize and the model's projection as a final Dense). ``hf``: the
transformer and its tokenizer, for ``transformers.AutoModel.from_pretrained(OUT)`` (pooling and projections are
not part of a transformers folder). A twin exports its one tower to ``OUT``; a pseudo-siamese model exports each
tower to ``OUT/left`` and ``OUT/right``. The whole folder appears at once (written next to it, then renamed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors.torch import save_file
from torch import nn

from textsiam.atomic import atomic_folder, write_json
from textsiam.deploy.cross_export import cross_dropped, export_cross
from textsiam.encoders.hf import HfTextEncoder
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel
from textsiam.models.saving import VERSION
from textsiam.registry import EXPORTERS

_ACTIVATION_CLASSES = {
    "tanh": "torch.nn.modules.activation.Tanh",
    "identity": "torch.nn.modules.linear.Identity",
    "relu": "torch.nn.modules.activation.ReLU",
    "gelu": "torch.nn.modules.activation.GELU",
    "sigmoid": "torch.nn.modules.activation.Sigmoid",
}
_ST_SIMILARITIES = {"cosine", "dot", "euclidean", "manhattan"}  # same names, same direction in sentence-transformers


def export_model(model: PairModel | str | Path, out: str | Path, format: str = "sentence-transformers") -> Path:
    """Write ``model`` (a PairModel, or a name/folder for ``create_model``) to ``out`` in ``format`` (an EXPORTERS
    name)."""
    exporter = EXPORTERS.build(format)
    if not isinstance(model, PairModel):
        from textsiam.models.io import create_model

        model = create_model(model)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} already exists and is not an empty folder; choose a new folder or remove it")
    if model.training_kind == "pairs":  # a cross-encoder: one sequence-classification folder
        return export_cross(model, out, format)
    towers = _towers(model)
    exporter.check(model)
    with atomic_folder(out) as tmp:
        for sub, (tower, projection) in towers.items():
            exporter.write(tower, projection, tmp / sub, model.similarity_name)
    return out


def dropped_parts(model: PairModel, format: str) -> list[str]:
    """What an export in ``format`` leaves out of ``model`` (the hf format keeps only the transformer)."""
    if model.training_kind == "pairs":
        return cross_dropped(model)
    return EXPORTERS.build(format).dropped(model)


class Exporter:
    """Writes one transformer tower (and its projection) as a folder another tool loads.

    ``check`` refuses a model the format cannot hold before anything is written; ``dropped`` names what the format
    leaves out (printed by ``textsiam export``). A twin's tower goes to ``OUT``, a pseudo model's to ``OUT/left``,
    ``OUT/right``."""

    def check(self, model: PairModel) -> None:
        """Raise a ConfigError naming the fix if ``model`` cannot be exported in this format."""

    def write(self, tower: HfTextEncoder, projection: nn.Linear | None, folder: Path, similarity: str) -> None:
        raise NotImplementedError

    def dropped(self, model: PairModel) -> list[str]:
        return []


@EXPORTERS.register("sentence-transformers")
class SentenceTransformersExporter(Exporter):
    """A folder SentenceTransformer(OUT) loads: transformer, pooling, Dense, Normalize, projection."""

    def check(self, model: PairModel) -> None:
        if model.head is not None:
            raise ConfigError(
                f"this model scores pairs with a learned head ({model.score_name}), which has no sentence-transformers "
                "module; the export would compare embeddings differently. Export with --format hf for the transformer"
            )
        for tower, _ in _towers(model).values():
            _pooling_config(tower)

    def write(self, tower: HfTextEncoder, projection: nn.Linear | None, folder: Path, similarity: str) -> None:
        _write_hf(tower, folder)
        _write_st_modules(tower, projection, folder, similarity)


@EXPORTERS.register("hf")
class HfExporter(Exporter):
    """The transformer and tokenizer only, for transformers.AutoModel.from_pretrained(OUT)."""

    def write(self, tower: HfTextEncoder, projection: nn.Linear | None, folder: Path, similarity: str) -> None:
        _write_hf(tower, folder)

    def dropped(self, model: PairModel) -> list[str]:
        parts = []
        for sub, (tower, projection) in _towers(model).items():
            where = f" ({sub} tower)" if sub else ""
            parts += [f"{tower.pooling_name} pooling{where}"]
            parts += [f"{len(tower.dense)} Dense layer(s){where}"] if len(tower.dense) else []
            parts += [f"normalisation{where}"] if tower.normalize else []
            parts += [f"the projection{where}"] if projection is not None else []
        return parts + ([f"the learned head {model.score_name}"] if model.head is not None else [])


def _towers(model: PairModel) -> dict[str, tuple[HfTextEncoder, nn.Linear | None]]:
    if model.left is model.right:
        towers = {"": (model.left, getattr(model, "projection", None))}
    else:
        towers = {"left": (model.left, model.left_projection), "right": (model.right, model.right_projection)}
    for sub, (tower, _) in towers.items():
        if not isinstance(tower, HfTextEncoder):
            side = f"the {sub} tower" if sub else "the tower"
            raise ConfigError(
                f"{side} is a {type(tower).__name__}; only transformer (hf-transformer) towers export to "
                "sentence-transformers or transformers folders. Save it with model.save(DIR) instead"
            )
    return towers


def _write_hf(tower: HfTextEncoder, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tower.transformer.save_pretrained(folder, safe_serialization=True)
    tower.tokenizer.save_pretrained(folder)


def _write_st_modules(tower: HfTextEncoder, projection: nn.Linear | None, folder: Path, similarity: str) -> None:
    modules = [_module(0, "", "Transformer"), _module(1, "1_Pooling", "Pooling")]
    write_json(folder / "1_Pooling" / "config.json", _pooling_config(tower))
    layers: list[tuple[nn.Linear, str]] = [(d.linear, d.spec["activation"]) for d in tower.dense]
    for linear, activation in layers:
        modules.append(_dense(folder, len(modules), linear, activation))
    if tower.normalize:
        modules.append(_module(len(modules), f"{len(modules)}_Normalize", "Normalize"))
        write_json(folder / modules[-1]["path"] / "config.json", {})
    if projection is not None:
        modules.append(_dense(folder, len(modules), projection, "identity"))
    write_json(folder / "modules.json", modules)
    write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": tower.max_length, "do_lower_case": tower.lowercase}
    )
    st_config: dict[str, Any] = {"__version__": {"textsiam": VERSION}, "model_type": "SentenceTransformer"}
    if similarity in _ST_SIMILARITIES:
        st_config["similarity_fn_name"] = similarity
    write_json(folder / "config_sentence_transformers.json", st_config)


def _module(idx: int, path: str, kind: str) -> dict[str, Any]:
    return {"idx": idx, "name": str(idx), "path": path, "type": f"sentence_transformers.models.{kind}"}


def _pooling_config(tower: HfTextEncoder) -> dict[str, Any]:
    mode = tower.pooling_name
    if mode not in ("cls", "mean", "max"):
        raise ConfigError(f"{mode!r} pooling has no sentence-transformers equivalent; export with --format hf")
    return {
        "word_embedding_dimension": tower.pooled_dim,
        "pooling_mode_cls_token": mode == "cls",
        "pooling_mode_mean_tokens": mode == "mean",
        "pooling_mode_max_tokens": mode == "max",
        "pooling_mode_mean_sqrt_len_tokens": False,
    }


def _dense(folder: Path, idx: int, linear: nn.Linear, activation: str) -> dict[str, Any]:
    module = _module(idx, f"{idx}_Dense", "Dense")
    config = {
        "in_features": linear.in_features,
        "out_features": linear.out_features,
        "bias": linear.bias is not None,
        "activation_function": _ACTIVATION_CLASSES[activation],
    }
    write_json(folder / module["path"] / "config.json", config)
    tensors = {f"linear.{k}": v.detach().cpu().contiguous() for k, v in linear.state_dict().items()}
    save_file(tensors, str(folder / module["path"] / "model.safetensors"))
    return module
