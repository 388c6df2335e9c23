"""Commands on files and folders: ``encode`` (a file of texts -> an embedding file), ``search_files`` (top-k of a
corpus for each query) and ``export`` (a model's towers as sentence-transformers / transformers folders)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textsiam.errors import ConfigError
from textsiam.index.files import search_files
from textsiam.models.base import PairModel

__all__ = ["Encoded", "Exported", "encode", "export", "search_files"]


@dataclass(frozen=True)
class Encoded:
    """What ``encode`` wrote: ``rows`` embeddings of ``dim`` floats in ``output``; ``main`` is False on the ranks
    > 0 of a torchrun group (rank 0 writes the file)."""

    output: Path
    rows: int
    dim: int
    main: bool = True


def encode(
    model: PairModel | str | Path,
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    side: str = "left",
    batch_size: int = 64,
    column: str | None = None,
    format: str | None = None,
    quantize: str | None = None,
    dtype: str = "fp32",
    compile: bool = False,
    dim: int | None = None,
    show_progress: bool = False,
) -> Encoded:
    """Embed every text of ``input`` (one per line, or ``column`` of a csv/tsv/jsonl/parquet file) with the
    ``side`` tower of ``model`` (an object, or a name / folder loaded in eval mode; int8 with ``quantize``, or in
    ``dtype`` "bf16" / "fp16" / "auto": :mod:`textsiam.deploy.precision`; ``compile``: int8 layers compiled) into
    ``output`` (``.npy`` or ``.parquet``), streamed; under torchrun each rank encodes its share. ``dim`` keeps the
    first ``dim`` coordinates of each embedding, renormalised (a Matryoshka-trained model; default: all)."""
    from textsiam.api.common import built_model
    from textsiam.distributed import context
    from textsiam.index import encode_file

    built = built_model(model.eval() if isinstance(model, PairModel) else model, None, quantize, dtype, compile).eval()
    rows = encode_file(
        built, input, output, side=side, batch_size=batch_size, column=column, format=format,
        show_progress=show_progress, dim=dim,
    )  # fmt: skip
    return Encoded(Path(output), rows, dim or built.embedding_dim, context().is_main)


@dataclass(frozen=True)
class Exported:
    """What ``export`` wrote: the folder, and the parts of the model the format leaves out."""

    out: Path
    dropped: list[str]


def export(
    model: PairModel | str | Path,
    out: str | Path,
    format: str = "sentence-transformers",
    quantize: str | None = None,
) -> Exported:
    """Write ``model`` (an object, or a name / folder for ``create_model``) to ``out`` in ``format`` (an EXPORTERS
    name: ``textsiam list exporters``); ``quantize="int8"`` also writes an int8 model (``format="onnx"`` only)."""
    from textsiam.deploy.export import dropped_parts, export_model
    from textsiam.models.io import create_model

    if quantize and format != "onnx":
        raise ConfigError(f"--quantize {quantize} applies to --format onnx; drop it or export with --format onnx")
    built = model if isinstance(model, PairModel) else create_model(model)
    source = None if isinstance(model, PairModel) else model  # the run folder the model card reads
    options = {"quantize": quantize} if quantize else {}
    folder = export_model(built, out, format=format, source=source, **options)
    return Exported(folder, dropped_parts(built, format))
