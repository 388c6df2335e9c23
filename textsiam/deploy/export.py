"""Export a model to folders other tools load, without textsiam.

``sentence-transformers``: a folder ``SentenceTransformer(OUT)`` loads and that gives the same embeddings (the
transformer, the pooling, Dense layers, Normalize and the model's projection as a final Dense), with the model's
decision (``decision.json``: threshold, calibrator) and ``textsiam_export.json`` (the pair model's config and where
each module lies), so that ``textsiam.load(OUT)`` rebuilds the same model with the same ``predict`` answers. A
pseudo-siamese model becomes one folder with a sentence-transformers ``Router`` (query -> left tower, document ->
right tower) where the installed sentence-transformers has one (5.0 on), else ``OUT/left`` and ``OUT/right``.
``hf``: the transformer and its tokenizer, for ``transformers.AutoModel.from_pretrained(OUT)``. ``onnx``
(``onnx_export.py``): the sentence-transformers folder plus ``onnx/model.onnx``.

Towers are read through the tower contract (``Encoder.export_parts``) and the pair model's
(``PairModel.projection_of``), never by class. Every folder gets a model card (``README.md``). The whole folder
appears at once (written next to it, then renamed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from torch import nn

from textsiam.atomic import atomic_folder, write_json
from textsiam.deploy.cross_export import cross_dropped, export_cross
from textsiam.encoders.parts import TransformerParts
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel
from textsiam.models.card import write_card
from textsiam.models.exported import MANIFEST
from textsiam.registry import ENCODERS, EXPORTERS, PAIR_MODELS
from textsiam.version import __version__

from .st_modules import SideLayout, check_pooling, write_router, write_side, write_st_config, write_transformer

ST_SIMILARITIES = {"cosine", "dot", "euclidean", "manhattan"}  # same names, same direction in sentence-transformers
ROUTES = {"left": "query", "right": "document"}  # a pseudo model's towers as Router routes


@dataclass
class Side:
    """One tower to export: its config key (``encoder``, ``left``, ``right``), the side it encodes, its parts and
    the model's projection after it."""

    key: str
    side: str
    parts: TransformerParts
    projection: nn.Linear | None


def export_model(
    model: PairModel | str | Path,
    out: str | Path,
    format: str = "sentence-transformers",
    source: str | Path | None = None,
    **options: Any,
) -> Path:
    """Write ``model`` (a PairModel, or a name/folder for ``create_model``) to ``out`` in ``format`` (an EXPORTERS
    name); ``options`` go to the exporter (``quantize="int8"`` for onnx). The model card reads the training run's
    files from ``source`` (the model folder ``model`` was loaded from, when given as an object)."""
    exporter = EXPORTERS.build(format, **options)
    if not isinstance(model, PairModel):
        from textsiam.models.io import create_model

        source, model = Path(model), create_model(model)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} already exists and is not an empty folder; choose a new folder or remove it")
    refuse_composite(model)
    if model.training_kind == "pairs":  # a cross-encoder: one sequence-classification folder
        return export_cross(model, out, format, options.get("quantize"))
    exporter.check(model)
    with atomic_folder(out) as tmp:
        exporter.write(model, tmp)
        write_card(tmp, model, source=source if source and Path(source).is_dir() else None, layout=format)
    return out


def refuse_composite(model: PairModel) -> None:
    """A ConfigError for a model made of whole models (a two-stage model): no one format holds it."""
    if type(model).submodel_keys:
        parts = ", ".join(type(model).submodel_keys)
        raise ConfigError(
            f"a {PAIR_MODELS.name_of(model)} model is made of whole models ({parts}) and no export format holds "
            "both with the rule that joins them; export each part from the folder it was trained in, or serve "
            "this folder with textsiam serve"
        )


def dropped_parts(model: PairModel, format: str) -> list[str]:
    """What an export in ``format`` leaves out of ``model`` (the hf format keeps only the transformer)."""
    refuse_composite(model)
    if model.training_kind == "pairs":
        return cross_dropped(model)
    return EXPORTERS.build(format).dropped(model)


def sides(model: PairModel) -> dict[str, Side]:
    """``{sub-folder: Side}``: a twin's one tower at ``""``, a pseudo model's two at ``left`` and ``right``; a
    ConfigError names a tower with no exportable form."""
    twin = model.left is model.right
    keys = {"": ("encoder", "left")} if twin else {"left": ("left", "left"), "right": ("right", "right")}
    found = {}
    for sub, (key, side) in keys.items():
        tower = model.tower(side)
        parts = tower.export_parts()
        if parts is None:
            where = "the tower" if twin else f"the {side} tower"
            raise ConfigError(
                f"{where} ({ENCODERS.name_of(tower)}, {type(tower).__name__}) has no Transformer -> Pooling form that "
                "sentence-transformers, transformers or ONNX runtimes load (only transformer towers without "
                "long-text chunking have); save it with model.save(DIR) instead"
            )
        try:
            projection = model.projection_of(side)
        except NotImplementedError as err:
            raise ConfigError(f"{err}; this pair model cannot be exported (save it with model.save(DIR))") from None
        found[sub] = Side(key, side, parts, projection)
    return found


class Exporter:
    """Writes a model as a folder another tool loads.

    ``check`` refuses a model the format cannot hold before anything is written; ``write`` fills the (temporary)
    folder; ``dropped`` names what the format leaves out (printed by ``textsiam export``)."""

    def check(self, model: PairModel) -> None:
        """Raise a ConfigError naming the fix if ``model`` cannot be exported in this format."""
        sides(model)

    def write(self, model: PairModel, folder: Path) -> None:
        raise NotImplementedError

    def dropped(self, model: PairModel) -> list[str]:
        return []


def has_router() -> bool:
    """Whether the installed sentence-transformers loads a ``Router`` (5.0 on); False when it is not installed."""
    try:
        return int(metadata.version("sentence-transformers").split(".")[0]) >= 5
    except (metadata.PackageNotFoundError, ValueError):
        return False


@EXPORTERS.register("sentence-transformers")
class SentenceTransformersExporter(Exporter):
    """A folder SentenceTransformer(OUT) loads (transformer, pooling, Dense, Normalize, projection) + the decision."""

    def __init__(self, router: bool | None = None) -> None:
        self.router = router  # None: a Router when the installed sentence-transformers has one

    def check(self, model: PairModel) -> None:
        if model.head is not None:
            raise ConfigError(
                f"this model scores pairs with a learned head ({model.score_name}), which has no sentence-transformers "
                "module; the export would compare embeddings differently. Export with --format hf for the transformer"
            )
        for sub, side in sides(model).items():
            check_pooling(side.parts, f"the {sub} tower" if sub else "the tower")

    def write(self, model: PairModel, folder: Path) -> dict[str, Any]:
        """Write the folder; returns the manifest also written to ``textsiam_export.json``."""
        found = sides(model)
        similarity = model.similarity_name if model.similarity_name in ST_SIMILARITIES else None
        layouts: dict[str, SideLayout] = {}
        if len(found) == 1:
            (side,) = found.values()
            _, layouts[side.key] = write_side(side.parts, side.projection, folder)
            write_st_config(folder, similarity, __version__)
            layout = "sentence-transformers"
        elif self.router if self.router is not None else has_router():
            stacks = {ROUTES[s.side]: (s.parts, s.projection) for s in found.values()}
            routes = write_router(stacks, folder, default=ROUTES["left"])
            layouts = {s.key: routes[ROUTES[s.side]] for s in found.values()}
            write_st_config(folder, similarity, __version__)
            layout = "sentence-transformers-router"
        else:
            for sub, side in found.items():
                _, part = write_side(side.parts, side.projection, folder / sub)
                layouts[side.key] = part.under(sub)
                write_st_config(folder / sub, similarity, __version__)
            layout = "sentence-transformers-left-right"
        if model.decision is not None:
            model.decision.to_json(folder / "decision.json")
        manifest = {
            "textsiam_version": __version__,
            "layout": layout,
            "model": model.get_config(),
            "towers": {key: asdict(part) for key, part in layouts.items()},
            "decision": "decision.json" if model.decision is not None else None,
        }
        write_json(folder / MANIFEST, manifest)
        return manifest


@EXPORTERS.register("hf")
class HfExporter(Exporter):
    """The transformer and tokenizer only, for transformers.AutoModel.from_pretrained(OUT)."""

    def write(self, model: PairModel, folder: Path) -> None:
        for sub, side in sides(model).items():
            write_transformer(side.parts, folder / sub)

    def dropped(self, model: PairModel) -> list[str]:
        parts = []
        for sub, side in sides(model).items():
            where = f" ({sub} tower)" if sub else ""
            parts += [f"{side.parts.pooling} pooling{where}"]
            parts += [f"{len(side.parts.dense)} Dense layer(s){where}"] if side.parts.dense else []
            parts += [f"normalisation{where}"] if side.parts.normalize else []
            parts += [f"the projection{where}"] if side.projection is not None else []
        return parts + ([f"the learned head {model.score_name}"] if model.head is not None else [])
