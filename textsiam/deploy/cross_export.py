"""Export a cross model as a transformers sequence-classification folder (``--format hf``), or that folder plus
``onnx/model.onnx`` (``--format onnx``).

``AutoModelForSequenceClassification.from_pretrained(OUT)`` (and sentence-transformers' ``CrossEncoder(OUT)``) then
gives the model's logits: the transformer's weights under the architecture's prefix, and the cross head's two
layers where that architecture keeps its classification head (BERT: the pooler's dense + ``classifier``; MPNet:
``classifier.dense`` + ``classifier.out_proj``: both compute ``linear(tanh(dense(h_cls)))`` in eval mode). With one
output, CrossEncoder's default sigmoid gives textsiam's score.

The ONNX graph is that sequence-classification model traced as optimum's ``ORTModelForSequenceClassification``
(and so sentence-transformers' ``CrossEncoder(OUT, backend="onnx")``) reads it: the tokenizer's pair encoding in
(``input_ids``, ``attention_mask``, ``token_type_ids`` where the tokenizer makes them; int64, batch and sequence
axes dynamic), ``logits`` ``(batch, labels)`` out; the opset and the names are recorded in ``textsiam_onnx.json``.
"""

from __future__ import annotations

import copy
from functools import partial
from pathlib import Path

from torch import nn

from textsiam.atomic import atomic_folder, write_json
from textsiam.errors import ConfigError

from .quantize import QUANTIZATIONS

# model_type -> (where the head's dense layer goes, where its output layer goes) in the sequence-classification model
HEAD_NAMES = {
    "bert": ("bert.pooler.dense", "classifier"),
    "mpnet": ("classifier.dense", "classifier.out_proj"),
}
FORMATS = ("hf", "onnx")
_EXAMPLE = (["a man plays the guitar on a stage", "a dog"], ["a man plays music", "a cat"])  # traced: padding too


def export_cross(model, out: Path, format: str, quantize: str | None = None) -> Path:
    """Write the cross model ``model`` to the new folder ``out`` (``format``: ``hf``, or ``onnx`` for the same
    folder plus ``onnx/model.onnx``)."""
    if format not in FORMATS:
        raise ConfigError(
            f"a cross model exports only with --format hf (a sequence-classification folder that transformers and "
            f"sentence-transformers' CrossEncoder load) or --format onnx (that folder plus onnx/model.onnx), "
            f"not {format!r}"
        )
    if quantize is not None and (format != "onnx" or quantize not in QUANTIZATIONS):
        raise ConfigError(
            f"--quantize {quantize}: a cross model quantizes with --format onnx and --quantize "
            f"{' or '.join(QUANTIZATIONS)} (onnx/model_qint8_<cpu>.onnx), or is exported without --quantize"
        )
    if format == "onnx":
        from .onnx_export import require_onnx

        require_onnx()
    from transformers import AutoModelForSequenceClassification

    enc = model.encoder
    config = copy.deepcopy(enc.transformer.config)
    names = HEAD_NAMES.get(config.model_type)
    if names is None:
        raise ConfigError(
            f"exporting a cross model over a {config.model_type!r} transformer is not supported "
            f"(supported: {sorted(HEAD_NAMES)}); save it with model.save(DIR) instead"
        )
    labels = model.classes or ["score"]
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {name: i for i, name in enumerate(labels)}
    config.architectures = None
    hf = AutoModelForSequenceClassification.from_config(config)
    prefix = hf.base_model_prefix
    state = {f"{prefix}.{k}": v for k, v in enc.transformer.state_dict().items()}
    for name, layer in zip(names, (model.head.dense, model.head.out)):
        state |= {f"{name}.{k}": v for k, v in layer.state_dict().items()}
    missing, unexpected = hf.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]  # a buffer transformers fills itself
    if missing or unexpected:
        raise ConfigError(
            f"cannot map the cross model onto {type(hf).__name__}: missing {missing}, unexpected {unexpected}"
        )
    tokenizer = copy.deepcopy(enc.tokenizer)
    tokenizer.model_max_length = enc.max_length  # pairs are cut to the model's own length
    with atomic_folder(out) as tmp:
        hf.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if format == "onnx":
            write_logits_graph(hf, tokenizer, tmp, model if quantize else None)
    return out


class LogitsGraph(nn.Module):
    """A sequence-classification model as the exported graph: token tensors -> ``logits`` (batch, labels)."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.classifier(input_ids=input_ids, attention_mask=attention_mask, **extra).logits


class PairLogitsGraph(nn.Module):
    """A (smoothed) cross model as the same graph: token tensors -> ``logits`` (batch, labels), one order only."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.model.encoder.hidden_states({"input_ids": input_ids, "attention_mask": attention_mask, **extra})
        logits = self.model.head(hidden[:, 0])  # (batch,) or (batch, classes)
        return logits if self.model.classes else logits.unsqueeze(-1)


def write_logits_graph(hf: nn.Module, tokenizer, folder: Path, int8_of=None) -> None:
    """``folder/onnx/model.onnx`` from the sequence-classification model ``hf``, and ``textsiam_onnx.json``; with
    ``int8_of`` (the cross model) also ``onnx/model_qint8_<cpu>.onnx``: the cross model smoothed as textsiam's own
    int8 smooths it (calibrated on pairs), traced as the same graph, then quantized as the twin's towers are."""
    from .onnx_export import OPSET, input_names, smoothed_copy, write_int8, write_onnx

    names = input_names(tokenizer)
    features = tokenizer(*_EXAMPLE, padding=True, return_tensors="pt")
    args = tuple(features[n] for n in names)
    write_onnx(LogitsGraph(hf), args, names, ["logits"], folder / "onnx" / "model.onnx")
    files = ["onnx/model.onnx"]
    if int8_of is not None:
        graph = PairLogitsGraph(smoothed_copy(int8_of))
        int8 = write_int8(partial(write_onnx, graph, args, names, ["logits"]), folder / "onnx")
        files.append(str(int8.relative_to(folder)))
    record = {"opset": OPSET, "files": files, "inputs": names, "outputs": ["logits"]}
    record |= {"quantize": "int8" if int8_of is not None else None}
    write_json(folder / "textsiam_onnx.json", record | {"dynamic_axes": {"inputs": ["batch", "sequence"]}})


def cross_dropped(model) -> list[str]:
    """What the folder leaves out: the symmetric averaging of both orders, the choice of relevant passages, and
    lowercasing done by textsiam."""
    parts = ["the symmetric (a, b) / (b, a) averaging"] if model.symmetric else []
    if model.passages == "relevant":
        parts.append("the choice of the second text's passages relevant to the first (passages='relevant')")
    return parts + (["lowercasing"] if model.encoder.lowercase else [])
