"""Property tests: generated cubes (NaN patterns, float32/float64, a time dim, dim orders).

Invariants: savgol, tv and destripe keep NaN exactly where the input has it (and add none), keep
the dtype and dim order, and give the same numbers on any dask chunking.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eoxr import hsi
from eoxr.testing.strategies import chunkings

SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@st.composite
def cubes(draw: st.DrawFn, *, time: bool | None = None) -> xr.DataArray:
    """A smooth spectral cube with noise, NaN pixels/bands/blocks, a dtype and a dim order."""
    nb = draw(st.integers(9, 14))
    ny, nx = draw(st.integers(8, 20)), draw(st.integers(8, 20))
    seed = draw(st.integers(0, 2**16))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    rng = np.random.default_rng(seed)
    wl = np.linspace(400, 1000, nb)
    yy, xx = np.mgrid[0:ny, 0:nx]
    base = 0.2 + 0.1 * np.sin(xx / 3.0 + yy / 5.0)
    a = base[None] * (1 + 0.3 * np.cos(wl / 150.0))[:, None, None]
    a = a + rng.normal(0, 0.01, a.shape)
    nan = np.zeros(a.shape, bool)
    pattern = draw(st.sampled_from(["none", "pixels", "block", "band", "entries"]))
    if pattern == "pixels":
        nan[:, rng.random((ny, nx)) < 0.1] = True
    elif pattern == "block":
        nan[:, 2:5, 3:6] = True
    elif pattern == "band":
        nan[draw(st.integers(0, nb - 1))] = True
    elif pattern == "entries":
        nan |= rng.random(a.shape) < 0.02
    a[nan] = np.nan
    cube = xr.DataArray(
        a.astype(dtype),
        dims=("band", "y", "x"),
        coords={
            "band": np.arange(nb),
            "wavelength": ("band", wl),
            "y": np.arange(ny) * 30.0,
            "x": np.arange(nx) * 30.0,
        },
    )
    if time if time is not None else draw(st.booleans()):
        cube = xr.concat([cube, cube[:, ::-1].assign_coords(y=cube.y) * 1.1], dim="time")
        cube = cube.assign_coords(time=np.array(["2021-01-01", "2021-06-01"], "datetime64[ns]"))
    order = draw(st.permutations(list(cube.dims)))
    return cube.transpose(*order)


def _funcs(cube: xr.DataArray):
    bands = cube.sizes["band"]
    noise = xr.DataArray(np.full(bands, 0.01), dims="band")
    return {
        "savgol": lambda c: hsi.savgol(c, size=5, order=2),
        "tv": lambda c: hsi.tv(c, noise=noise, n_iter=10, halo=4),
        "destripe": lambda c: hsi.destripe(c, offsets="moments"),
        "destripe_robust": hsi.destripe,
    }


@SETTINGS
@given(cube=cubes(), name=st.sampled_from(["savgol", "tv", "destripe", "destripe_robust"]))
def test_nan_placement_dtype_and_dims_are_kept(cube, name):
    out = _funcs(cube)[name](cube)
    assert out.dims == cube.dims
    assert out.dtype == cube.dtype
    got = out.values
    np.testing.assert_array_equal(np.isnan(got), np.isnan(cube.values))


@SETTINGS
@given(data=st.data(), name=st.sampled_from(["savgol", "tv", "destripe", "destripe_robust"]))
def test_chunk_invariance(data, name):
    cube = data.draw(cubes(time=False)).transpose("band", "y", "x")
    chunks = data.draw(chunkings({"y": cube.sizes["y"], "x": cube.sizes["x"]}, min_size=2))
    func = _funcs(cube)[name]
    expected = func(cube).values
    got = func(cube.chunk(chunks)).values
    # tv: Chambolle is global; with the halo of 4 px and 10 iterations chunks agree closely
    atol = 2e-3 if name == "tv" else 1e-6 * max(1.0, float(np.nanmax(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=atol)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))


@SETTINGS
@given(cube=cubes(time=True))
def test_time_dim_equals_scene_by_scene(cube):
    out = hsi.savgol(cube, size=5, order=2)
    for i in range(cube.sizes["time"]):
        scene = cube.isel(time=i)
        np.testing.assert_array_equal(
            out.isel(time=i).transpose(*scene.dims).values,
            hsi.savgol(scene, size=5, order=2).values,
        )
