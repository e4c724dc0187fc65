"""Late binding of ``"module:function"`` targets, shared by the accessor and the method registries.

Topic packages are imported only when one of their functions is first used, which keeps
``import eoxr`` light and lets the accessor and :mod:`eoxr.denoise` name functions as data.
"""

from __future__ import annotations

import importlib
from typing import Any


def resolve(target: str) -> Any:
    """The object named by ``"package.module:attribute"``, importing its module on first use.

    Examples
    --------
    >>> resolve("eoxr.bands:to_array").__name__
    'to_array'
    """
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def display_path(target: str) -> str:
    """The dotted path of a target, as written in docs: ``"eoxr.sar.speckle.lee"``.

    Examples
    --------
    >>> display_path("eoxr.sar.speckle:lee")
    'eoxr.sar.speckle.lee'
    """
    return target.replace(":", ".")


__all__ = ["resolve", "display_path"]
