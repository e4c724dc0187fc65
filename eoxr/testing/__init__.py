"""Testing utilities for eoxr and its users: cube factories, chunk-invariance and laziness checks.

Hypothesis strategies live in :mod:`eoxr.testing.strategies` (hypothesis is a test dependency).
"""

from __future__ import annotations

from ._assertions import assert_chunk_invariant, assert_lazy, raise_if_dask_computes
from ._factories import make_cube, make_grid_coords

__all__ = [
    "make_cube",
    "make_grid_coords",
    "assert_chunk_invariant",
    "assert_lazy",
    "raise_if_dask_computes",
]
