"""Assertions: chunk invariance and laziness."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import dask
import numpy as np
import xarray as xr


class _CountingScheduler:
    """A dask scheduler that counts calls and raises past ``max_computes``."""

    def __init__(self, max_computes: int = 0) -> None:
        self.total = 0
        self.max_computes = max_computes

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        self.total += 1
        if self.total > self.max_computes:
            raise RuntimeError(
                f"too many dask computations: {self.total} > {self.max_computes} allowed"
            )
        return dask.get(dsk, keys, **kwargs)


@contextlib.contextmanager
def raise_if_dask_computes(*, max_computes: int = 0) -> Iterator[_CountingScheduler]:
    """Context in which any dask computation beyond ``max_computes`` raises ``RuntimeError``.

    Examples
    --------
    >>> import dask.array as da
    >>> with raise_if_dask_computes():
    ...     x = da.ones(4) + 1  # building a graph is fine
    """
    sched = _CountingScheduler(max_computes)
    with dask.config.set(scheduler=sched):
        yield sched


def assert_lazy(obj: xr.DataArray | xr.Dataset) -> None:
    """Assert that ``obj`` (every variable of a Dataset) is dask-backed."""
    from .._dask.chunking import is_dask

    items = obj.data_vars.values() if isinstance(obj, xr.Dataset) else [obj]
    for v in items:
        assert is_dask(v), f"{getattr(v, 'name', 'result')} is not lazy (numpy-backed)"


def _default_chunkings(cube: xr.DataArray) -> list[dict[str, int]]:
    sizes = dict(cube.sizes)
    out = []
    for div in (2, 3, 5):
        ch = {}
        for d, n in sizes.items():
            if d in ("y", "x", "latitude", "longitude"):
                ch[d] = max(1, -(-n // div))
            elif d == "time":
                ch[d] = 1
            else:
                ch[d] = -1
        out.append(ch)
    return out


def _values(obj: Any) -> dict[str, np.ndarray]:
    if isinstance(obj, xr.Dataset):
        return {str(k): np.asarray(v.values) for k, v in obj.data_vars.items()}
    if isinstance(obj, xr.DataArray):
        return {"result": np.asarray(obj.values)}
    return {"result": np.asarray(obj)}


def _assert_same_metadata(expected: Any, got: Any, ch: Mapping[str, int]) -> None:
    """Dims, coordinates (names and values) and attr names of two results agree."""
    if not isinstance(expected, xr.DataArray | xr.Dataset):
        return
    assert type(got) is type(expected), f"result type {type(got)} != {type(expected)}"
    assert tuple(got.dims) == tuple(expected.dims), (
        f"dims {tuple(got.dims)} != {tuple(expected.dims)} for chunks={ch}"
    )
    assert set(got.coords) == set(expected.coords), (
        f"coords {sorted(map(str, got.coords))} != {sorted(map(str, expected.coords))} "
        f"for chunks={ch}"
    )
    for name, c in expected.coords.items():
        xr.testing.assert_equal(got.coords[name].variable.compute(), c.variable.compute())
    assert set(got.attrs) == set(expected.attrs), (
        f"attr names {sorted(got.attrs)} != {sorted(expected.attrs)} for chunks={ch}"
    )


def assert_chunk_invariant(
    func: Callable[[xr.DataArray], Any],
    cube: xr.DataArray,
    *,
    chunkings: Sequence[Mapping[str, int]] | None = None,
    rtol: float = 1e-6,
    atol: float = 0.0,
    lazy: bool = True,
) -> None:
    """Assert ``func(cube)`` on numpy data equals ``func`` on several dask chunkings.

    Parameters
    ----------
    func : callable
        Operation under test, ``func(cube) -> DataArray | Dataset``.
    cube : DataArray
        Input (numpy- or dask-backed; it is loaded first).
    chunkings : sequence of mappings, optional
        Dask chunkings to try; default: 2, 3 and 5 tiles per spatial dim, one time step per chunk.
    rtol, atol : float
        Tolerances on values; NaN placement, dims, coordinates (names and values) and the names
        of the attrs must match exactly.
    lazy : bool
        Also assert the dask results are lazy (not computed inside ``func``).
    """
    from .._dask.chunking import is_dask

    base = cube.compute()
    expected_obj = func(base)
    expected = _values(expected_obj)
    for ch in chunkings or _default_chunkings(base):
        ch = {k: v for k, v in ch.items() if k in base.dims}
        with raise_if_dask_computes():
            res = func(base.chunk(ch))
        if lazy:
            items = res.data_vars.values() if isinstance(res, xr.Dataset) else [res]
            for v in items:
                assert is_dask(v), f"result is not lazy for chunks={ch}"
        _assert_same_metadata(expected_obj, res, ch)
        got = _values(res)
        assert got.keys() == expected.keys()
        for k in expected:
            e, g = expected[k], got[k]
            assert e.shape == g.shape, f"{k}: shape {g.shape} != {e.shape} for chunks={ch}"
            assert g.dtype == e.dtype, f"{k}: dtype {g.dtype} != {e.dtype} for chunks={ch}"
            if np.issubdtype(e.dtype, np.floating):
                np.testing.assert_array_equal(
                    np.isnan(g), np.isnan(e), err_msg=f"{k}: NaN placement differs, chunks={ch}"
                )
            np.testing.assert_allclose(
                g,
                e,
                rtol=rtol,
                atol=atol,
                equal_nan=True,
                err_msg=f"{k}: values differ for chunks={ch}",
            )
