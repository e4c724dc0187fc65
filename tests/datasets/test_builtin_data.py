import numpy as np
import pytest

import eoxr.datasets as datasets
from eoxr.errors import ParameterError


def test_shipped_data_is_small_and_attributed():
    root = datasets.data_dir("s2_chesapeake").parent
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert size < 10e6
    readme = (root / "README.md").read_text()
    assert "CC0" in readme and "MIT" in readme


def test_open_samples():
    s2 = datasets.open("s2_chesapeake")
    assert len(s2.data_vars) == 13 and s2.sizes["x"] == 480
    red, nir = s2.B04.isel(time=0), s2.B08.isel(time=0)
    ndvi = ((nir - red) / (nir + red)).values
    # fields and marsh (top-left) are vegetated; open water (NDVI < 0) is present too
    assert np.nanpercentile(ndvi, 90) > 0.5 and np.nanpercentile(ndvi, 10) < 0.0
    ls = datasets.open("landsat_colorado")
    assert ls.sizes["time"] == 105
    with pytest.raises(ParameterError, match="available"):
        datasets.open("modis")


def test_landsat_phenology_signal():
    ls = datasets.open("landsat_colorado").eo.mask_clouds()
    ndvi = (ls.nir - ls.red) / (ls.nir + ls.red)
    monthly = ndvi.compute().median(["x", "y"]).groupby("time.month").median()
    assert float(monthly.sel(month=7)) > float(monthly.sel(month=4)) + 0.2


def test_synthetic_s2_truth_and_reproducible():
    a = datasets.synthetic_s2(seed=5, shape=(32, 32), times=4)
    b = datasets.synthetic_s2(seed=5, shape=(32, 32), times=4)
    np.testing.assert_array_equal(a.cube.values, b.cube.values)
    assert not np.array_equal(
        a.cube.values, datasets.synthetic_s2(seed=6, shape=(32, 32), times=4).cube.values
    )
    assert a.cube.dtype == np.float32 and a.cube.rio.crs.to_epsg() == 32633
    # the planted change: forest (high NDVI) before, bare soil after, in the change region
    nd = (a.truth.sel(band="B08") - a.truth.sel(band="B04")) / (
        a.truth.sel(band="B08") + a.truth.sel(band="B04")
    )
    before = float(nd.isel(time=1).where(a.change).mean())
    after = float(nd.isel(time=3).where(a.change).mean())
    assert before > 0.6 and after < 0.3
    assert a.extras["change_time"] == a.cube.time.values[2]
    clear = ~a.extras["cloud"] & (a.extras["scl"] != 3) & (a.extras["scl"] != 0)
    resid = (a.cube - a.truth).where(clear)
    assert abs(float(resid.std()) - 0.004) < 0.001
