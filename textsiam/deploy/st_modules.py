"""Write one side of a pair model as a sentence-transformers module stack, by hand (no sentence-transformers import).

The stack is Transformer (the folder itself: weights, config, tokenizer, ``sentence_bert_config.json``) -> Pooling
-> the tower's Dense layers -> Normalize -> the model's projection as a last Dense (identity activation). What each
module is and where it lies is returned as a :class:`SideLayout`, which the export records in
``textsiam_export.json`` so that textsiam reads the weights back into the same modules (``models/exported.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors.torch import save_file
from torch import nn

from textsiam.atomic import write_json
from textsiam.encoders.parts import TransformerParts
from textsiam.errors import ConfigError

_ACTIVATION_CLASSES = {
    "tanh": "torch.nn.modules.activation.Tanh",
    "identity": "torch.nn.modules.linear.Identity",
    "relu": "torch.nn.modules.activation.ReLU",
    "gelu": "torch.nn.modules.activation.GELU",
    "sigmoid": "torch.nn.modules.activation.Sigmoid",
}
ST_POOLING = ("cls", "mean", "max")


@dataclass
class SideLayout:
    """Where one side's modules lie, relative to the export folder: ``transformer`` (a folder), ``dense`` (one
    folder per tower Dense), ``projection`` (the projection's Dense folder, or None)."""

    transformer: str
    dense: list[str] = field(default_factory=list)
    projection: str | None = None

    def under(self, prefix: str) -> SideLayout:
        """The same layout for a stack written into the sub-folder ``prefix``."""
        if not prefix:
            return self
        join = lambda p: f"{prefix}/{p}" if p else prefix  # noqa: E731
        return SideLayout(
            join(self.transformer), [join(d) for d in self.dense], self.projection and join(self.projection)
        )


def check_pooling(parts: TransformerParts, where: str) -> None:
    if parts.pooling not in ST_POOLING:
        raise ConfigError(
            f"{where}: {parts.pooling!r} pooling has no sentence-transformers module (it has {', '.join(ST_POOLING)}); "
            "export with --format hf for the transformer alone"
        )


def write_transformer(parts: TransformerParts, folder: Path) -> None:
    """The transformer's weights (safetensors), config and tokenizer: a folder transformers' AutoModel loads."""
    folder.mkdir(parents=True, exist_ok=True)
    parts.transformer.save_pretrained(folder, safe_serialization=True)
    parts.tokenizer.save_pretrained(folder)


def write_side(
    parts: TransformerParts, projection: nn.Linear | None, folder: Path, route: str | None = None
) -> tuple[list[dict[str, Any]], SideLayout]:
    """Write the stack into ``folder``; returns (the modules as ``modules.json`` lists them, the layout).

    ``route`` None: a plain folder (the Transformer is the folder itself, the rest ``1_Pooling``, ``2_Dense``...).
    ``route`` "query": every module in its own folder named as sentence-transformers' Router names them
    (``query_0_Transformer``, ``query_1_Pooling``, ...), for a Router over several stacks."""

    def place(kind: str) -> dict[str, Any]:
        idx = len(modules)
        path = "" if route is None and kind == "Transformer" else f"{route + '_' if route else ''}{idx}_{kind}"
        modules.append({"idx": idx, "name": str(idx), "path": path, "type": f"sentence_transformers.models.{kind}"})
        return modules[-1]

    modules: list[dict[str, Any]] = []
    layout = SideLayout(transformer=place("Transformer")["path"])
    write_transformer(parts, folder / layout.transformer)
    write_json(
        folder / layout.transformer / "sentence_bert_config.json",
        {"max_seq_length": parts.max_length, "do_lower_case": parts.lowercase},
    )
    write_json(folder / place("Pooling")["path"] / "config.json", pooling_config(parts))
    for linear, activation in parts.dense:
        layout.dense.append(_dense(folder / place("Dense")["path"], linear, activation))
    if parts.normalize:
        write_json(folder / place("Normalize")["path"] / "config.json", {})
    if projection is not None:
        if not isinstance(projection, nn.Linear):
            raise ConfigError(
                f"the projection is a {type(projection).__name__}, not a Linear layer; it has no sentence-transformers "
                "Dense module. Export with --format hf for the transformer alone"
            )
        layout.projection = _dense(folder / place("Dense")["path"], projection, "identity")
    if route is None:
        write_json(folder / "modules.json", modules)
    return modules, layout


def write_router(sides: dict[str, tuple[TransformerParts, nn.Linear | None]], folder: Path, default: str) -> dict:
    """One folder holding a sentence-transformers ``Router`` over one stack per route (``{"query": ..., "document":
    ...}``); returns ``{route: SideLayout}``. ``default``: the route ``encode`` takes without a task."""
    types, structure, layouts = {}, {}, {}
    for route, (parts, projection) in sides.items():
        modules, layouts[route] = write_side(parts, projection, folder, route=route)
        structure[route] = [m["path"] for m in modules]
        types.update({m["path"]: m["type"] for m in modules})
    parameters = {"default_route": default, "allow_empty_key": True, "route_mappings": {}}
    write_json(folder / "router_config.json", {"types": types, "structure": structure, "parameters": parameters})
    write_json(
        folder / "modules.json", [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Router"}]
    )
    return layouts


def write_st_config(folder: Path, similarity: str | None, version: str, **extra: Any) -> None:
    config: dict[str, Any] = {"__version__": {"textsiam": version}, "model_type": "SentenceTransformer", **extra}
    if similarity is not None:
        config["similarity_fn_name"] = similarity
    write_json(folder / "config_sentence_transformers.json", config)


def pooling_config(parts: TransformerParts) -> dict[str, Any]:
    mode = parts.pooling
    return {
        "word_embedding_dimension": parts.pooled_dim,
        "pooling_mode_cls_token": mode == "cls",
        "pooling_mode_mean_tokens": mode == "mean",
        "pooling_mode_max_tokens": mode == "max",
        "pooling_mode_mean_sqrt_len_tokens": False,
    }


def _dense(folder: Path, linear: nn.Linear, activation: str) -> str:
    """A Dense module's folder (config + safetensors weights named as sentence-transformers names them)."""
    config = {
        "in_features": linear.in_features,
        "out_features": linear.out_features,
        "bias": linear.bias is not None,
        "activation_function": _ACTIVATION_CLASSES[activation],
    }
    write_json(folder / "config.json", config)
    tensors = {f"linear.{k}": v.detach().cpu().contiguous() for k, v in linear.state_dict().items()}
    save_file(tensors, str(folder / "model.safetensors"))
    return folder.name
