"""Kept for ``train/trainer.py`` (reworked on another branch at the same time): the device check lives at the
ground floor now, :mod:`textsiam.device`. Remove this file once trainer.py imports ``textsiam.device``."""

from textsiam.device import resolve_device

__all__ = ["resolve_device"]
