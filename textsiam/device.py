"""Device names: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` (and ``mps`` where torch has it), checked before any work."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch

from textsiam.errors import ConfigError

_HINT = "use auto, cpu, cuda or cuda:N"


def resolve_device(name: str) -> torch.device:
    """The torch device for ``name``; a ConfigError for an unknown device or one this machine does not have."""
    if not isinstance(name, str):
        raise ConfigError(f"device must be a string ({_HINT}), got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}: {_HINT}") from None
    if device.type == "cuda":
        _check_cuda(name, device.index)
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name!r}: this machine has no MPS (Apple GPU) backend; {_HINT}")
    elif device.type not in ("cpu", "mps"):
        raise ConfigError(f"device {name!r} is not supported by textsiam: {_HINT}")
    return device


def _check_cuda(name: str, index: int | None) -> None:
    if torch.version.cuda is None:
        raise ConfigError(f"device {name!r}: this torch build has no CUDA support (torch {torch.__version__}); use cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: no CUDA device is visible (driver or CUDA_VISIBLE_DEVICES?); use cpu")
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        raise ConfigError(f"device {name!r}: only {count} CUDA device(s) visible (cuda:0 .. cuda:{count - 1})")


def autocasts(device: torch.device) -> bool:
    """Whether ``--amp`` (bfloat16 autocast) applies on ``device``: CUDA and CPU (not MPS)."""
    return device.type in ("cuda", "cpu")


def amp_autocast(device: torch.device, amp: bool) -> torch.autocast:
    """The context a training step's forward runs in: bfloat16 autocast on ``device`` when ``amp`` (``--amp``) and
    :func:`autocasts` says it applies there, a disabled one otherwise. Every step kind (embeddings, pairs) enters
    this one, so ``--amp`` means the same for each."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and autocasts(device))


@cache
def cpu_info() -> tuple[str, frozenset[str]]:
    """The CPU's vendor id (``AuthenticAMD``, ``GenuineIntel``) and feature flags from ``/proc/cpuinfo`` (Linux);
    empty where that cannot be read."""
    vendor, flags = "", frozenset()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return vendor, flags
    for line in lines:
        if line.startswith("vendor_id") and not vendor:
            vendor = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not flags:
            flags = frozenset(line.split(":", 1)[1].split())
    return vendor, flags


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (:func:`cpu_info`)."""
    return cpu_info()[1]
