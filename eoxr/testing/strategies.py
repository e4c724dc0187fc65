"""Hypothesis strategies: cubes with varied data, and dask chunkings (needs ``hypothesis``).

Data are drawn in two parts: hypothesis chooses the structure (shape, dtype, dim order, extra
dims, NaN pattern, kind of values) and a seed, and numpy fills the array from the seed. Large
arrays stay cheap to generate and failures still shrink to a small, readable case.

Examples
--------
>>> from hypothesis import given, settings
>>> @settings(max_examples=5, deadline=None)
... @given(cubes(dtypes=["float32"]))
... def test_double(cube):
...     assert (cube * 2).dtype == cube.dtype
>>> test_double()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from hypothesis import strategies as st

from .._dims import make_grid_coords

#: dtypes eoxr meets in practice: reflectance floats and sensor digital numbers
DTYPES: tuple[str, ...] = ("float32", "float64", "uint16", "int16")
#: where nodata falls: nowhere, scattered pixels, whole rows/columns, a block, a whole band, all
NAN_PATTERNS: tuple[str, ...] = ("none", "scattered", "rows", "columns", "block", "band", "all")
#: kinds of values: uniform in a range, a constant field, a field with rare huge spikes
VALUE_KINDS: tuple[str, ...] = ("uniform", "constant", "spiky")


@st.composite
def chunk_sizes(draw: st.DrawFn, n: int, min_size: int = 1) -> tuple[int, ...]:
    """Irregular chunk sizes that add up to ``n``."""
    sizes = []
    left = n
    while left > 0:
        s = draw(st.integers(min_value=min(min_size, left), max_value=left))
        sizes.append(s)
        left -= s
    return tuple(sizes)


@st.composite
def chunkings(draw: st.DrawFn, sizes: Mapping[str, int], min_size: int = 1) -> dict:
    """A chunking (dim -> tuple of chunk sizes) for a cube of the given ``sizes``."""
    return {d: draw(chunk_sizes(n, min_size)) for d, n in sizes.items()}


def dtypes(choices: Sequence[str] = DTYPES) -> st.SearchStrategy[np.dtype]:
    """One of ``choices`` as a numpy dtype (default: float32, float64, uint16, int16)."""
    return st.sampled_from([np.dtype(d) for d in choices])


def nan_mask(pattern: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Boolean nodata mask of ``shape`` (last two axes spatial, the one before them bands).

    Examples
    --------
    >>> m = nan_mask("rows", (2, 4, 5), np.random.default_rng(0))
    >>> m.shape, bool(m.any()), bool(m.all(axis=-1).any())
    ((2, 4, 5), True, True)
    >>> bool(nan_mask("band", (4, 5), np.random.default_rng(0)).all())
    True
    """
    ny, nx = shape[-2:]
    mask = np.zeros(shape, dtype=bool)
    if pattern == "scattered":
        mask = rng.random(shape) < 0.15
    elif pattern == "rows":
        mask[..., rng.integers(0, ny, size=max(1, ny // 4)), :] = True
    elif pattern == "columns":
        mask[..., rng.integers(0, nx, size=max(1, nx // 4))] = True
    elif pattern == "block":
        y0, x0 = rng.integers(0, ny), rng.integers(0, nx)
        mask[..., y0 : y0 + max(1, ny // 2), x0 : x0 + max(1, nx // 2)] = True
    elif pattern == "band":  # one whole band; a 2-D shape is one band
        if len(shape) > 2:
            mask[..., rng.integers(0, shape[-3]), :, :] = True
        else:
            mask[...] = True
    elif pattern == "all":
        mask[...] = True
    elif pattern != "none":
        raise ValueError(f"unknown NaN pattern {pattern!r}; expected one of {NAN_PATTERNS}")
    return mask


def _values(kind: str, shape: tuple[int, ...], rng: np.random.Generator, low: float, high: float):
    if kind == "constant":
        return np.full(shape, rng.uniform(low, high))
    data = rng.uniform(low, high, size=shape)
    if kind == "spiky":
        data = np.where(rng.random(shape) < 0.01, high * 50.0, data)
    return data


@st.composite
def cubes(
    draw: st.DrawFn,
    *,
    dtypes: Sequence[str] = DTYPES,
    bands: Sequence[str] = ("B02", "B03", "B04", "B08"),
    min_side: int = 3,
    max_side: int = 24,
    time: bool | None = None,
    dim_order: bool = False,
    nan_patterns: Sequence[str] = NAN_PATTERNS,
    value_kinds: Sequence[str] = VALUE_KINDS,
    low: float = 0.01,
    high: float = 0.6,
    crs: str | None = "EPSG:32633",
) -> xr.DataArray:
    """A reflectance-like cube ``([time,] band, y, x)`` with drawn structure and content.

    Parameters
    ----------
    dtypes : sequence of str
        Dtypes to draw from. Integer cubes hold digital numbers (reflectance x 10000) and mark
        nodata with 0 (``attrs["nodata"] = 0``) instead of NaN.
    bands : sequence of str
        Band labels; a non-empty prefix of them is drawn.
    min_side, max_side : int
        Range of the spatial sizes ``y`` and ``x``.
    time : bool, optional
        Add a ``time`` dimension (1-3 steps): always (True), never (False) or drawn (None).
    dim_order : bool
        Also draw the order of the dimensions (default: ``[time,] band, y, x``).
    nan_patterns, value_kinds : sequence of str
        Nodata patterns (:data:`NAN_PATTERNS`) and kinds of values (:data:`VALUE_KINDS`) to draw.
    low, high : float
        Range of the values (before conversion to digital numbers).
    crs : str, optional
        CRS written on the cube (rioxarray ``spatial_ref`` coordinate).

    Returns
    -------
    DataArray
        numpy-backed; chunk it with a drawn :func:`chunkings` for dask tests.
    """
    dtype = np.dtype(draw(st.sampled_from(list(dtypes))))
    nb = draw(st.integers(1, len(bands)))
    ny, nx = draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side))
    nt = draw(st.integers(1, 3)) if (time is None and draw(st.booleans())) or time else 0
    pattern = draw(st.sampled_from(list(nan_patterns)))
    kind = draw(st.sampled_from(list(value_kinds)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    shape = ((nt,) if nt else ()) + (nb, ny, nx)
    data = _values(kind, shape, rng, low, high)
    mask = nan_mask(pattern, shape, rng)
    attrs = {"units": "1", "long_name": "surface reflectance"}
    if np.issubdtype(dtype, np.integer):
        data = np.where(mask, 0, np.clip(np.round(data * 10_000), 1, np.iinfo(dtype).max))
        attrs = {"long_name": "digital number", "nodata": 0}
    else:
        data = np.where(mask, np.nan, data)
    dims = (("time",) if nt else ()) + ("band", "y", "x")
    coords: dict = {"band": list(bands[:nb]), **make_grid_coords(ny, nx)}
    if nt:
        coords["time"] = pd.date_range("2024-01-01", periods=nt, freq="5D")
    cube = xr.DataArray(data.astype(dtype), dims=dims, coords=coords, name="cube", attrs=attrs)
    if dim_order:
        cube = cube.transpose(*draw(st.permutations(dims)))
    return cube.rio.write_crs(crs) if crs else cube


@st.composite
def chunked(
    draw: st.DrawFn, cube_strategy: st.SearchStrategy[xr.DataArray] | None = None
) -> tuple[xr.DataArray, dict]:
    """A pair ``(cube, chunking)``: a drawn cube and a drawn chunking of its dims."""
    cube = draw(cube_strategy if cube_strategy is not None else cubes())
    return cube, draw(chunkings(dict(cube.sizes)))


__all__ = [
    "DTYPES",
    "NAN_PATTERNS",
    "VALUE_KINDS",
    "chunk_sizes",
    "chunkings",
    "dtypes",
    "nan_mask",
    "cubes",
    "chunked",
]
