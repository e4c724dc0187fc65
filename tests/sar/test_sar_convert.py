"""dB/linear conversion, multilooking, dual-pol helpers, synthetic S1 scene."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import sar
from eoxr.datasets import synthetic_s1
from eoxr.errors import DataTypeError, ParameterError, UnitsError
from eoxr.testing import assert_chunk_invariant, raise_if_dask_computes


def cube(units="1", seed=0):
    return synthetic_s1(seed=seed, shape=(24, 30), times=2).cube.assign_attrs(units=units)


def test_db_linear_round_trip_units_and_values():
    lin = cube()
    db = lin.eo.to_db()
    assert db.attrs["units"] == "dB" and db.dtype == np.float32
    np.testing.assert_allclose(db.values, 10 * np.log10(lin.values.astype(float)), atol=1e-5)
    back = db.eo.to_linear()
    assert back.attrs["units"] == "1" and back.dtype == np.float32
    np.testing.assert_allclose(back.values, lin.values, rtol=2e-6)
    assert "to_db" in db.attrs["history"] and back.rio.crs == lin.rio.crs
    assert db.eo.to_db() is db and lin.eo.to_linear() is lin  # already in that domain


def test_db_of_zero_negative_nan_is_nan_and_lazy():
    da = xr.DataArray(
        np.array([[0.0, -1e-4, np.nan, 1.0]], "float32"), dims=("y", "x"), attrs={"units": "1"}
    )
    np.testing.assert_array_equal(np.isnan(sar.to_db(da).values), [[True, True, True, False]])
    with raise_if_dask_computes():
        lazy = sar.to_db(cube().chunk({"x": 7}))
    assert lazy.chunks is not None
    assert_chunk_invariant(sar.to_db, cube())


def test_undeclared_negative_raises_with_fix():
    db = cube().eo.to_db().drop_attrs()
    with pytest.raises(UnitsError, match="units"):
        sar.to_db(db)
    with pytest.raises(UnitsError):
        sar.multilook(db.assign_attrs(units="furlongs"), factors=2)
    with pytest.raises(DataTypeError):
        sar.to_db(cube().astype("int32"))


def test_multilook_values_coords_transform_nan():
    c = cube()
    c[0, 0, 0, 0] = np.nan
    c.attrs["eoxr:looks"] = 4.4
    ml = c.eo.multilook(factors={"y": 2, "x": 3})
    assert ml.shape == (2, 2, 12, 10) and ml.dtype == np.float32
    blk = c.values[0, 0, 0:2, 0:3].astype(float)
    np.testing.assert_allclose(ml.values[0, 0, 0, 0], np.nanmean(blk), rtol=1e-6)
    np.testing.assert_allclose(ml.x.values[0], c.x.values[0:3].mean())
    assert ml.rio.transform().a == pytest.approx(3 * c.rio.transform().a)
    assert ml.rio.transform().c == pytest.approx(c.rio.transform().c)
    assert ml.attrs["eoxr:looks"] == pytest.approx(4.4 * 6)
    assert_chunk_invariant(
        lambda d: sar.multilook(d, factors={"y": 2, "x": 2}),
        cube(),
        chunkings=[{"y": 6, "x": 10}, {"y": 24, "x": 30}],
    )


def test_multilook_in_db_averages_linear_power():
    db = cube().eo.to_db()
    ml = sar.multilook(db, factors=2)
    assert ml.attrs["units"] == "dB"
    want = 10 * np.log10(sar.multilook(cube(), factors=2).values.astype(float))
    np.testing.assert_allclose(ml.values, want, atol=1e-4)
    with pytest.raises(ParameterError):
        sar.multilook(db, factors={"time": 2})
    for bad in ({"y": 0}, {"y": 2.5}, 2.0, {"x": True}, {"y": 25}):
        with pytest.raises(ParameterError, match="multilook"):
            sar.multilook(db, factors=bad)
    assert sar.multilook(db, factors=np.int64(3)).shape == (2, 2, 8, 10)


def test_dual_pol_ratio_and_rvi():
    s = synthetic_s1(seed=0, shape=(24, 30), times=1)
    t = s.truth
    ratio = t.eo.dual_pol_ratio()
    np.testing.assert_allclose(ratio.values, (t.sel(band="VH") / t.sel(band="VV")).values)
    assert ratio.attrs["units"] == "1"
    rdb = sar.dual_pol_ratio(sar.to_db(t))
    assert rdb.attrs["units"] == "dB"
    np.testing.assert_allclose(rdb.values, 10 * np.log10(ratio.values), atol=1e-4)
    rvi = t.eo.dual_pol_rvi()
    vv, vh = t.sel(band="VV").values, t.sel(band="VH").values
    np.testing.assert_allclose(rvi.values, 4 * vh / (vv + vh), rtol=1e-6)
    np.testing.assert_allclose(sar.dual_pol_rvi(sar.to_db(t)).values, rvi.values, rtol=1e-5)
    ds = t.to_dataset(dim="band")
    np.testing.assert_allclose(sar.dual_pol_rvi(ds).values, rvi.values, rtol=1e-6)


def test_synthetic_s1_scene():
    s = synthetic_s1(seed=2, shape=(64, 80), times=4, looks=3.0)
    assert s.cube.dims == ("time", "band", "y", "x") and s.cube.dtype == np.float32
    assert list(s.cube.band.values) == ["VV", "VH"] and s.cube.rio.crs.to_epsg() == 32631
    assert s.cube.attrs["units"] == "1" and s.change.dtype == bool and s.change.any()
    f = s.extras["flood_from"]
    flooded = s.truth.isel(band=0).values[:, s.change.values]
    assert (flooded[f:] == np.float32(0.005)).all() and (flooded[:f] > 0.005).all()
    ratio = (s.cube / s.truth).values.astype(float)
    assert abs(ratio.mean() - 1) < 0.01 and abs(1 / ratio.var() - 3.0) < 0.15
    again = synthetic_s1(seed=2, shape=(64, 80), times=4, looks=3.0)
    np.testing.assert_array_equal(again.cube.values, s.cube.values)
    db = synthetic_s1(seed=2, shape=(64, 80), times=4, looks=3.0, db=True)
    assert db.cube.attrs["units"] == "dB"
    np.testing.assert_allclose(db.cube.values, 10 * np.log10(s.cube.values), atol=1e-4)


def test_demo_step_writes_outputs(tmp_path):
    from eoxr.demo.sar import run

    lines = run(tmp_path)
    assert len(lines) == 3 and "refined Lee" in lines[0]
    for name in ("s1_refined_lee_db.tif", "speckle_metrics.csv", "s1_despeckle.png"):
        assert (tmp_path / "sar" / name).stat().st_size > 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "sar" / "speckle_metrics.csv").set_index("filter")
    assert table.loc["refined_lee", "enl"] > 10 * table.loc["none", "enl"]


@pytest.mark.parametrize(
    "factors", [{"y": 2, "x": 3}, {"y": 5, "x": 4}, {"y": 25, "x": 2}, {"x": 31}]
)
def test_multilook_transform_and_bounds_odd_sizes(factors):
    c = synthetic_s1(seed=0, shape=(25, 31), times=1).cube  # odd sizes: trailing pixels trimmed
    t0 = c.rio.transform()
    ml = sar.multilook(c, factors=factors)
    fy, fx = factors.get("y", 1), factors.get("x", 1)
    ny, nx = 25 // fy, 31 // fx
    assert ml.shape[-2:] == (ny, nx)
    t = ml.rio.transform()
    assert (t.a, t.e, t.c, t.f) == pytest.approx((t0.a * fx, t0.e * fy, t0.c, t0.f))
    left, bottom, right, top = c.rio.bounds()
    assert ml.rio.bounds(recalc=False) == pytest.approx(
        (left, top + t0.e * fy * ny, left + t0.a * fx * nx, top)
    )
    # coords are the block centres, consistent with the transform (also for a 1-block dim)
    np.testing.assert_allclose(ml.x.values, t.c + t.a * (np.arange(nx) + 0.5))
    np.testing.assert_allclose(ml.y.values, t.f + t.e * (np.arange(ny) + 0.5))
    assert ml.spatial_ref.attrs["GeoTransform"].split()[1] == repr(t.a)


def test_multilook_all_nan_block_and_undeclared_db():
    c = cube()
    c[:, :, 0:2, 0:2] = np.nan
    ml = sar.multilook(c, factors=2)
    assert np.isnan(ml.values[:, :, 0, 0]).all() and np.isfinite(ml.values[:, :, 0, 1]).all()
    db = sar.to_db(cube()).drop_attrs()
    with pytest.raises(UnitsError, match="multilook"):
        sar.multilook(db, factors=2)
    with raise_if_dask_computes():
        lazy = sar.multilook(db.chunk({"y": 8}), factors=2)  # the check runs in the graph
    with pytest.raises(UnitsError):
        lazy.compute()


def test_dataset_input_inherits_dataset_units():
    db = synthetic_s1(seed=0, shape=(24, 30), times=1, db=True)
    ds = db.cube.to_dataset(dim="band")  # units="dB" on the Dataset, none on the variables
    assert "units" not in ds["VV"].attrs
    ml = ds.eo.multilook(factors=2)
    assert ml["VV"].attrs["units"] == "dB" and ml["VV"].shape == (1, 12, 15)
    np.testing.assert_allclose(
        ml["VH"].values, sar.multilook(db.cube, factors=2).sel(band="VH").values
    )
    lin = sar.to_linear(ds)
    np.testing.assert_allclose(lin["VV"].values, 10 ** (ds["VV"].values / 10), rtol=1e-6)
    t = db.truth
    tds = t.to_dataset(dim="band")
    np.testing.assert_allclose(sar.dual_pol_rvi(tds).values, sar.dual_pol_rvi(t).values)
    np.testing.assert_allclose(sar.dual_pol_ratio(tds).values, sar.dual_pol_ratio(t).values)
    with pytest.raises(UnitsError):  # undeclared dB is refused, not averaged as power
        sar.dual_pol_rvi(t.drop_attrs())
