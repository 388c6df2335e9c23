"""Models that travel: int8 quantization for CPU inference, export to sentence-transformers / transformers / ONNX
folders, each usable without textsiam. Below the API and the service, above the models they read."""

from textsiam.registry import import_submodules

import_submodules(__name__)  # every exporter registers itself: a new format is one new file here
