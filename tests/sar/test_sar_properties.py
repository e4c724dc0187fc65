"""Property tests: dB round trip, and NaN placement kept by every filter on any chunking."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from eoxr import sar
from eoxr.testing.strategies import chunkings

FILTERS = [
    "boxcar",
    "median",
    "lee",
    "kuan",
    "enhanced_lee",
    "gamma_map",
    "frost",
    "refined_lee",
    "lee_sigma",
]
NY, NX = 17, 19


@settings(max_examples=40, deadline=None)
@given(
    values=hnp.arrays(
        np.float32,
        (3, 5),
        elements=st.floats(-60, 30, width=32, allow_nan=False),
    ),
    data=st.data(),
)
def test_db_linear_round_trip(values, data):
    db = xr.DataArray(values, dims=("y", "x"), attrs={"units": "dB"})
    ch = data.draw(chunkings({"y": 3, "x": 5}))
    for cube in (db, db.chunk(ch)):
        back = sar.to_db(sar.to_linear(cube))
        assert back.dtype == np.float32 and back.attrs["units"] == "dB"
        # float32: 10**(x/10) then 10 log10 loses a few ulp of the power, ~1e-6 dB
        np.testing.assert_allclose(back.values, values, rtol=0, atol=2e-5)


@st.composite
def nan_scene(draw):
    """Gamma speckle over two regions with NaN holes (isolated pixels, a block, edge rows)."""
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    clean = np.where(np.arange(NX)[None, :] < NX // 2, 0.05, 0.4) * np.ones((NY, 1))
    img = (clean * rng.gamma(4.4, 1 / 4.4, (NY, NX))).astype("float32")
    holes = np.zeros((NY, NX), bool)
    n = draw(st.integers(0, 25))
    holes.flat[rng.choice(NY * NX, n, replace=False)] = True
    if draw(st.booleans()):
        y0, x0 = draw(st.integers(0, NY - 5)), draw(st.integers(0, NX - 5))
        holes[y0 : y0 + 5, x0 : x0 + 5] = True
    if draw(st.booleans()):
        holes[0] = True
    img[holes] = np.nan
    return xr.DataArray(img, dims=("y", "x"), attrs={"units": "1"})


@pytest.mark.parametrize("name", FILTERS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(img=nan_scene(), data=st.data())
def test_nan_in_nan_out_same_pixels_any_chunking(name, img, data):
    ch = data.draw(chunkings({"y": NY, "x": NX}))
    params = {} if name in ("boxcar", "median", "frost") else {"looks": 4.4}
    windows = [3, 5, {"y": 3, "x": 5}, {"y": 5, "x": 3}]
    size = 7 if name == "refined_lee" else data.draw(st.sampled_from(windows))
    want = getattr(sar, name)(img, size=size, **params)
    got = getattr(sar, name)(img.chunk(ch), size=size, **params).values
    # NaN in -> NaN out at the same pixels; every valid pixel has a valid window (itself)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(img.values))
    np.testing.assert_allclose(got, want.values, rtol=1e-6, equal_nan=True)
