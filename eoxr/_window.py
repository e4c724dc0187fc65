"""Odd windows: check a window size, and the halo a centred window needs.

Dask-free on purpose: a topic validates its ``size=`` argument without importing the dask layer;
the halo then goes to :func:`eoxr._dask.overlap.map_overlap`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ParameterError


def check_window(size: int, *, name: str = "size", minimum: int = 3) -> int:
    """Validate an odd window size >= ``minimum``."""
    if not isinstance(size, int | np.integer) or size < minimum or size % 2 == 0:
        raise ParameterError(
            f"{name}={size!r} is not a valid window: expected an odd integer >= {minimum} "
            f"(e.g. {name}=7)."
        )
    return int(size)


def halo_for_window(size: int | Sequence[int]) -> tuple[int, ...]:
    """Halo (overlap depth) needed by a centred window of odd ``size``: ``size // 2``."""
    sizes = (size,) if np.isscalar(size) else tuple(size)
    return tuple(int(s) // 2 for s in sizes)
