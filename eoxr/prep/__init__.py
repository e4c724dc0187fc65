"""Preparation of optical cubes: cloud masking and temporal compositing."""

from __future__ import annotations

from .composite import composite
from .masking import cloud_mask, mask_clouds

__all__ = ["cloud_mask", "mask_clouds", "composite"]
