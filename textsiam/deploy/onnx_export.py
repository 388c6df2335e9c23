"""ONNX export (``textsiam export --format onnx [--quantize int8]``): the sentence-transformers folder plus
``onnx/model.onnx`` beside each transformer, for ``SentenceTransformer(OUT, backend="onnx")`` and for onnxruntime
alone.

The graph takes the tokenizer's tensors (``input_ids``, ``attention_mask``, and ``token_type_ids`` where the
tokenizer makes them; int64, ``(batch, sequence)``, both axes dynamic) and returns ``last_hidden_state``
``(batch, sequence, hidden)``, which sentence-transformers' ONNX backend reads and pools itself, and
``sentence_embedding`` ``(batch, dim)``: the tower's pooling, Dense layers, normalisation and the model's
projection inside the graph, so onnxruntime alone gives the embedding textsiam gives. The opset and the inputs are
recorded in ``textsiam_export.json`` (``"onnx"``).

``--quantize int8`` adds ``onnx/model_qint8_<cpu>.onnx`` (sentence-transformers' name for a dynamically quantized
model: ``avx512_vnni`` on CPUs with VNNI, else ``avx2``): int8 weights per output channel, activations quantized
per batch by onnxruntime; the text towers are smoothed first exactly as textsiam's own int8 (``quantize.py``), which
moves activation outliers into the weights' scales. ``onnx`` and ``onnxruntime`` come with the ``onnx`` extra.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from textsiam.atomic import write_json
from textsiam.encoders.dense import ACTIVATIONS
from textsiam.encoders.parts import TransformerParts
from textsiam.errors import ConfigError
from textsiam.models.base import PairModel
from textsiam.models.exported import MANIFEST
from textsiam.registry import EXPORTERS, POOLERS

from .export import SentenceTransformersExporter, sides
from .quantize import QUANTIZATIONS, has_vnni, smooth

OPSET = 18
OUTPUTS = ("last_hidden_state", "sentence_embedding")
_EXAMPLE = ["a man plays the guitar on a stage", "a dog"]  # the traced batch: two lengths, padding included


def require_onnx() -> None:
    """ImportError naming the extra when ``onnx`` / ``onnxruntime`` are missing."""
    missing = []
    for name in ("onnx", "onnxruntime", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(
            f"the ONNX export needs {', '.join(missing)}: pip install 'textsiam[onnx]' "
            "(onnx, onnxruntime and onnxscript, the exporter torch uses)"
        )


class TowerGraph(nn.Module):
    """One side as the exported graph: transformer -> (hidden states, pooled -> Dense -> normalised -> projected)."""

    def __init__(self, parts: TransformerParts, projection: nn.Module | None) -> None:
        super().__init__()
        self.transformer, self.pooler = parts.transformer, POOLERS.build(parts.pooling)
        self.dense = nn.ModuleList([nn.Sequential(linear, ACTIVATIONS[act]()) for linear, act in parts.dense])
        self.normalize, self.projection = parts.normalize, projection

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        x = self.pooler(hidden, attention_mask)  # (batch, hidden)
        for layer in self.dense:
            x = layer(x)  # (batch, out_features)
        x = F.normalize(x, dim=-1) if self.normalize else x
        return hidden, (self.projection(x) if self.projection is not None else x)  # (batch, seq, hidden), (batch, dim)


def input_names(tokenizer) -> list[str]:
    """The graph's inputs: ``input_ids``, ``attention_mask``, and ``token_type_ids`` where ``tokenizer`` makes them."""
    made = set(tokenizer.model_input_names)
    return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in made or n != "token_type_ids"]


def export_graph(parts: TransformerParts, projection: nn.Module | None, path: Path, opset: int = OPSET) -> list[str]:
    """Write ``path`` (one ONNX file, weights inside); returns the graph's input names."""
    names = input_names(parts.tokenizer)
    features = parts.tokenizer(_EXAMPLE, padding=True, return_tensors="pt")
    device = next(parts.transformer.parameters()).device
    write_onnx(TowerGraph(parts, projection), tuple(features[n].to(device) for n in names), names, OUTPUTS, path, opset)
    return names


# What torch's exporter says on every export that is about torch itself, not about the user's model: the inputs share
# their batch and sequence axes on purpose (one Dim each), torch's own pytree code uses a deprecated check, and it
# lists the torchvision operators it skips (torchvision is not needed, and does not import beside this torch).
_EXPORTER_NOISE = (
    r"# The axis name: \w+ will not be used, since it shares the same shape constraints with another axis",
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
)
_EXPORTER_LOGGER = "torch.onnx._internal.exporter._registration"


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence the exporter's messages in :data:`_EXPORTER_NOISE` and its torchvision lines, and nothing else: a
    warning about the model (an unsupported operator, a shape it could not keep dynamic) still reaches the user."""
    logger = logging.getLogger(_EXPORTER_LOGGER)
    level = logger.level
    with warnings.catch_warnings():
        for message in _EXPORTER_NOISE:
            warnings.filterwarnings("ignore", message=message)
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


def write_onnx(graph: nn.Module, args: tuple, names: list[str], outputs, path: Path, opset: int = OPSET) -> None:
    """Trace ``graph`` (eval mode) on ``args`` with torch's dynamo exporter into ``path``: the inputs ``names``
    (int64, batch and sequence axes dynamic), the outputs ``outputs``, the weights inside the one file."""
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), quiet_exporter():
        program = torch.onnx.export(
            graph.eval(),
            args,
            input_names=names,
            output_names=list(outputs),
            opset_version=opset,
            dynamic_shapes={n: {0: batch, 1: seq} for n in names},
            dynamo=True,
            verbose=False,  # no progress lines on standard output (textsiam export prints its own)
        )
    program.save(str(path), external_data=False)


def quantize_file(source: Path, target: Path) -> None:
    """onnxruntime's dynamic int8 quantization: int8 weights per output channel; 8-bit activations on VNNI CPUs,
    7-bit (``reduce_range``) elsewhere, as torch's fbgemm does (AVX2's int8 multiply-add saturates 16-bit sums)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=not has_vnni(),
        op_types_to_quantize=["MatMul", "Gemm"],
    )


@EXPORTERS.register("onnx")
class OnnxExporter(SentenceTransformersExporter):
    """The sentence-transformers folder + onnx/model.onnx (and model_qint8_*.onnx with --quantize int8)."""

    def __init__(self, quantize: str | None = None, opset: int = OPSET, router: bool | None = None) -> None:
        super().__init__(router=router)
        if quantize is not None and quantize not in QUANTIZATIONS:
            raise ConfigError(f"unknown quantization {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}")
        self.quantize, self.opset = quantize, opset

    def check(self, model: PairModel) -> None:
        super().check(model)
        require_onnx()

    def write(self, model: PairModel, folder: Path) -> dict[str, Any]:
        was_training = model.training
        model.eval()  # no dropout in the graph; the caller's model is left in the mode it was in
        try:
            return self._write(model, folder)
        finally:
            model.train(was_training)

    def _write(self, model: PairModel, folder: Path) -> dict[str, Any]:
        manifest = super().write(model, folder)
        by_key = {side.key: side for side in sides(model).values()}
        files: list[str] = []
        smoothed = {side.key: side for side in sides(smoothed_copy(model)).values()} if self.quantize else {}
        for key, where in manifest["towers"].items():
            onnx_dir = folder / where["transformer"] / "onnx"
            names = export_graph(by_key[key].parts, by_key[key].projection, onnx_dir / "model.onnx", self.opset)
            files.append(str((onnx_dir / "model.onnx").relative_to(folder)))
            if self.quantize:
                side = smoothed[key]
                int8 = write_int8(partial(export_graph, side.parts, side.projection, opset=self.opset), onnx_dir)
                files.append(str(int8.relative_to(folder)))
        manifest["onnx"] = {
            "opset": self.opset,
            "files": files,
            "inputs": names,
            "outputs": list(OUTPUTS),
            "dynamic_axes": {"inputs": ["batch", "sequence"], "last_hidden_state": ["batch", "sequence"]},
            "quantize": self.quantize,
        }
        write_json(folder / MANIFEST, manifest)
        return manifest


def smoothed_copy(model: PairModel) -> PairModel:
    """A CPU copy of ``model`` whose Linear layers are smoothed for int8 as textsiam's own int8 smooths them
    (``quantize.smooth``: the float output is unchanged); ``model`` is left as it is."""
    work = copy.deepcopy(model).cpu().eval()
    smooth(work, None)
    return work


def int8_file_name() -> str:
    """sentence-transformers' name for a dynamically quantized model on this CPU: ``avx512_vnni`` with VNNI."""
    return f"model_qint8_{'avx512_vnni' if has_vnni() else 'avx2'}.onnx"


def write_int8(write_float: Callable[[Path], Any], onnx_dir: Path) -> Path:
    """``onnx_dir/model_qint8_<cpu>.onnx``: ``write_float(path)`` traces the smoothed float graph into a scratch file
    there, which :func:`quantize_file` quantizes (and which is then removed). Returns the int8 file."""
    scratch, target = onnx_dir / "smoothed.onnx", onnx_dir / int8_file_name()
    write_float(scratch)
    quantize_file(scratch, target)
    scratch.unlink()
    return target
