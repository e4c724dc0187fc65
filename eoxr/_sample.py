"""Seeded pixel samples that do not depend on the chunking: the one place they are drawn.

Every fit on "a sample of the pixels" draws it here, from a ``seed``, by global pixel index, so
the same pixels are drawn on any chunking. Two conventions, each where it fits:

- a COUNT, :func:`pixel_sample`: exactly ``size`` distinct positions (all of them when the grid
  has no more), for samples gathered into memory (``kmeans``/``pca`` of embeddings, IR-MAD and
  PCA-k-means change detection: ``sample=`` is a number of pixels there);
- a FRACTION, :func:`sample_mask`: each pixel kept with probability ``fraction``, as a lazy mask
  that a one-pass reduction applies block by block (hyperspectral moments: ``sample=`` is a
  fraction there).
"""

from __future__ import annotations

import numpy as np

from ._dask.chunking import index_range


def pixel_sample(shape: tuple[int, ...], size: int, seed: int) -> tuple[np.ndarray, ...] | None:
    """A COUNT of pixels: indices of ``size`` distinct positions of a grid of ``shape``.

    One index array per axis (as ``np.unravel_index`` gives them), in raster (C) order, drawn
    by flat index from ``seed``. ``None`` when the grid has no more than ``size`` positions
    (then use them all).

    Examples
    --------
    >>> rows, cols = pixel_sample((4, 5), 3, seed=0)
    >>> len(rows), bool((rows * 5 + cols == sorted(rows * 5 + cols)).all())
    (3, True)
    >>> pixel_sample((2, 2), 10, seed=0) is None
    True
    """
    n = int(np.prod(shape))
    if n <= size:
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


__all__ = ["pixel_sample", "sample_mask"]
