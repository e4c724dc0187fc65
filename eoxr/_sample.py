"""Seeded pixel samples that do not depend on the chunking: the one place they are drawn.

Every fit on "a sample of the pixels" draws it here, from a ``seed``, by global pixel index, so
the same pixels are drawn on any chunking. ``sample=`` is always a NUMBER OF PIXELS (an integer
>= 1, checked by :func:`check_count`; a fraction such as ``0.1`` is an error that gives the
count it meant). Two ways to draw them, each where it fits:

- exactly ``sample`` positions, :func:`pixel_sample`, for samples gathered into memory
  (``kmeans``/``pca`` of embeddings, IR-MAD and PCA-k-means change detection);
- about ``sample`` pixels, :func:`sample_mask`: each pixel kept with probability
  ``sample / pixels`` (:func:`count_fraction`), as a lazy mask that a one-pass reduction applies
  block by block (the band moments of the hyperspectral fits and noise estimates).
"""

from __future__ import annotations

import numpy as np

from ._dask.chunking import index_range
from .errors import ParameterError


def pixel_sample(
    shape: tuple[int, ...], size: int | None, seed: int
) -> tuple[np.ndarray, ...] | None:
    """A COUNT of pixels: indices of ``size`` distinct positions of a grid of ``shape``.

    One index array per axis (as ``np.unravel_index`` gives them), in raster (C) order, drawn
    by flat index from ``seed``. ``None`` when the grid has no more than ``size`` positions,
    or ``size`` is None (then use them all).

    Examples
    --------
    >>> rows, cols = pixel_sample((4, 5), 3, seed=0)
    >>> len(rows), bool((rows * 5 + cols == sorted(rows * 5 + cols)).all())
    (3, True)
    >>> pixel_sample((2, 2), 10, seed=0) is None
    True
    """
    n = int(np.prod(shape))
    if size is None or n <= size:
        return None
    flat = np.sort(np.random.default_rng(seed).choice(n, size=int(size), replace=False))
    return np.unravel_index(flat, shape)


def sample_mask(shape: tuple[int, int], fraction: float, seed: int, chunks=None):
    """A FRACTION of the pixels of a ``(y, x)`` grid: a boolean mask, lazy with ``chunks``.

    Pixel ``(row, column)`` is kept when a splitmix64-style integer hash of its flat index and
    ``seed`` falls below ``fraction``: a pure function of (row, column, seed), so the same
    pixels are chosen for any chunking, which dask's random generators do not guarantee.
    """
    ny, nx = shape
    iy = index_range(ny, chunks=None if chunks is None else chunks[0], dtype="uint64")[:, None]
    ix = index_range(nx, chunks=None if chunks is None else chunks[1], dtype="uint64")[None, :]
    with np.errstate(over="ignore"):
        z = iy * np.uint64(nx) + ix + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype("float64") / float(2**53) < fraction


def check_count(
    value: object,
    n_pixels: int | None = None,
    *,
    name: str = "sample",
    minimum: int = 1,
    allow_none: bool = True,
) -> int | None:
    """Validate ``sample=``, a number of pixels (``None``: every pixel, where ``allow_none``).

    A fraction (a number below 1) raises a :class:`ParameterError` that gives the count it
    stands for on ``n_pixels`` pixels.

    Examples
    --------
    >>> check_count(5000), check_count(2e4), check_count(None)
    (5000, 20000, None)
    >>> try:
    ...     check_count(0.1, 10_000)
    ... except ParameterError as err:
    ...     print(str(err).split(": ", 1)[1])
    for 0.1 of these 10000 pixels pass sample=1000.
    """
    if value is None and allow_none:
        return None
    real = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if real and np.isfinite(value) and float(value).is_integer() and value >= minimum:
        return int(value)
    if real and 0 < value < 1:
        fix = f"{name}={max(minimum, round(value * n_pixels))}" if n_pixels else f"{name}=..."
        where = f"these {n_pixels}" if n_pixels else "the"
        raise ParameterError(
            f"{name}={value!r} looks like a fraction, but {name}= is a number of pixels: for "
            f"{value} of {where} pixels pass {fix}."
        )
    every = ", or None for every pixel" if allow_none else ""
    raise ParameterError(
        f"{name}={value!r}: expected a number of pixels, an integer >= {minimum} (e.g. "
        f"{name}=10_000){every}."
    )


def count_fraction(count: int, n_pixels: int) -> float:
    """The probability :func:`sample_mask` keeps each of ``n_pixels`` pixels with for ``count``.

    ``count / n_pixels``, at most 1 (every pixel): a count of ``f * n_pixels`` pixels keeps the
    same pixels as the fraction ``f`` did.
    """
    return min(1.0, count / n_pixels) if n_pixels else 1.0


__all__ = ["check_count", "count_fraction", "pixel_sample", "sample_mask"]
