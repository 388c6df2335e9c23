"""Export a cross model as a transformers sequence-classification folder.

``AutoModelForSequenceClassification.from_pretrained(OUT)`` (and sentence-transformers' ``CrossEncoder(OUT)``) then
gives the model's logits: the transformer's weights under the architecture's prefix, and the cross head's two
layers where that architecture keeps its classification head (BERT: the pooler's dense + ``classifier``; MPNet:
``classifier.dense`` + ``classifier.out_proj``: both compute ``linear(tanh(dense(h_cls)))`` in eval mode). With one
output, CrossEncoder's default sigmoid gives textsiam's score.
"""

from __future__ import annotations

import copy
from pathlib import Path

from textsiam.atomic import atomic_folder
from textsiam.errors import ConfigError

# model_type -> (where the head's dense layer goes, where its output layer goes) in the sequence-classification model
HEAD_NAMES = {
    "bert": ("bert.pooler.dense", "classifier"),
    "mpnet": ("classifier.dense", "classifier.out_proj"),
}


def export_cross(model, out: Path, format: str) -> Path:
    """Write the cross model ``model`` to the new folder ``out`` (only ``format == "hf"`` holds a cross model)."""
    if format != "hf":
        raise ConfigError(
            f"a cross model exports only with --format hf (a sequence-classification folder that transformers and "
            f"sentence-transformers' CrossEncoder load), not {format!r}"
        )
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
    return out


def cross_dropped(model) -> list[str]:
    """What the folder leaves out: the symmetric averaging of both orders, and lowercasing done by textsiam."""
    parts = ["the symmetric (a, b) / (b, a) averaging"] if model.symmetric else []
    return parts + (["lowercasing"] if model.encoder.lowercase else [])
