"""Preparation of optical cubes: cloud masking and temporal compositing.

Cloud masks from quality layers (:mod:`eoxr.prep.masking`) or from the ukis-csmask U-Nets
(:mod:`eoxr.prep.csmask`).
"""

from __future__ import annotations

from .composite import composite
from .masking import cloud_mask, mask_clouds

__all__ = ["cloud_mask", "mask_clouds", "composite"]
