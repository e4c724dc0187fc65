"""Built-in data: small real samples shipped with the package and synthetic scenes with truth."""

from __future__ import annotations

from ._scene import SyntheticScene

__all__ = ["SyntheticScene"]
