"""What a tower hands to an export: its module stack in the terms other libraries use (``Encoder.export_parts``).

sentence-transformers, transformers and ONNX runtimes all see a text tower as Transformer -> Pooling -> Dense* ->
Normalize. A tower that can be written that way returns :class:`TransformerParts` (live modules, not copies: an
export writes their weights, a reader of an exported folder loads weights into them); any other tower returns
None and the export refuses it by name. The exporters (``textsiam/deploy/``) read nothing else of a tower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass(frozen=True)
class TransformerParts:
    """A text tower as a module stack: ``transformer`` (a transformers ``PreTrainedModel``: ``save_pretrained``,
    ``config``) and its ``tokenizer``; ``pooling`` over the last hidden states ("cls", "mean", "max" or a textsiam
    pooler name other libraries may not have); ``dense`` ``(Linear, activation name)`` layers after the pooling;
    ``normalize`` (L2) last. ``max_length`` and ``lowercase`` say how texts are tokenized."""

    transformer: nn.Module
    tokenizer: Any
    pooling: str
    pooled_dim: int
    max_length: int
    lowercase: bool = False
    normalize: bool = False
    dense: list[tuple[nn.Linear, str]] = field(default_factory=list)
