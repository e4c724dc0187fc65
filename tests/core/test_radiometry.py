"""eoxr.radiometry: what a cube holds, to_reflectance, and the silent wrong results it prevents.

The numbers are the product specifications' formulas written out here in float64 and rounded
once to float32: Sentinel-2 L1C/L2A reflectance = (DN + offset) / 10000 with offset -1000 from
processing baseline 04.00 (ESA, "Sentinel-2 Products Specification Document", PSD 14.9, and the
baseline 04.00 note of 2021-11); Landsat Collection 2 Level-2 SR = DN * 2.75e-5 - 0.2 (USGS,
"Landsat 8-9 Collection 2 Level 2 Science Product Guide").
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import eoxr
import eoxr.datasets
import eoxr.testing as et
from eoxr import radiometry
from eoxr.errors import ParameterError, UnitsError
from tests.conftest import shared_path

CROP = {"y": slice(400, 528), "x": slice(600, 728)}  # 128 x 128 px of bay, marsh and fields


def _s2_files(*bands: str) -> list[Path]:
    folder = shared_path("s2_chesapeake_l1c_cc0")
    return [folder / f"s2_{b}.tif" for b in bands]


@pytest.fixture(scope="module")
def chesapeake() -> xr.DataArray:
    """Sentinel-2 L1C DN of the red and NIR bands, 10 m, as delivered (uint16)."""
    return eoxr.open_raster(_s2_files("B04", "B08"), stack="band").isel(CROP).load()


# --------------------------------------------------------------------------- classification


def test_classify_from_dtype_units_and_product():
    refl = et.make_cube(bands=["B04", "B08"], times=None)
    dn = et.make_cube(bands=["B04", "B08"], times=None, dtype="uint16")
    assert radiometry.classify(refl) == "reflectance"
    assert radiometry.classify(dn) == "dn"
    assert radiometry.classify(dn * 1e-4) == "dn"  # attrs alone: the values decide later
    assert radiometry.classify(refl.drop_attrs()) == "unknown"
    s1 = eoxr.datasets.synthetic_s1(shape=(16, 16), times=1).cube
    assert radiometry.classify(s1) == "linear"
    assert radiometry.classify(s1.assign_attrs(units="dB")) == "dB"
    assert radiometry.optical_evidence(s1) == ""
    assert "sentinel-2" in radiometry.optical_evidence(refl.drop_attrs())


# --------------------------------------------------------------------------- to_reflectance


def test_chesapeake_l1c_is_dn_over_10000_exactly(chesapeake):
    dn = chesapeake.values.astype(np.float64)
    got = chesapeake.eo.to_reflectance()
    want = np.where(dn == 0, np.nan, dn / 10000).astype(np.float32)
    assert got.dtype == np.float32 and got.attrs["units"] == "1"
    np.testing.assert_array_equal(got.values, want)
    assert got.attrs["scale_applied"] == 1e-4 and "Sentinel-2 L1C/L2A" in got.attrs["history"]
    assert got.rio.crs == chesapeake.rio.crs and list(got.band.values) == ["B04", "B08"]
    # a cube that is reflectance already is returned as it is
    assert got.eo.to_reflectance() is got


def test_baseline_04_offset_from_attrs_and_from_the_safe_name(chesapeake, tmp_path):
    dn = chesapeake.values.astype(np.float64)
    want = np.where(dn == 0, np.nan, (dn - 1000) / 10000).astype(np.float32)
    by_attr = chesapeake.assign_attrs(processing_baseline="04.00").eo.to_reflectance()
    np.testing.assert_array_equal(by_attr.values, want)
    old = chesapeake.assign_attrs({"s2:processing_baseline": "03.01"}).eo.to_reflectance()
    np.testing.assert_array_equal(old.values, np.where(dn == 0, np.nan, dn / 1e4).astype("f4"))
    # delivered as a SAFE product: the baseline comes from its name
    safe = tmp_path / "S2B_MSIL1C_20220301T155219_N0400_R054_T18SUH_20220301T192807.SAFE"
    img = safe / "GRANULE" / "L1C_T18SUH" / "IMG_DATA"
    img.mkdir(parents=True)
    for src in _s2_files("B04", "B08"):
        shutil.copy(src, img / f"T18SUH_20220301T155219_{src.stem[3:]}.tif")
    cube = eoxr.open_raster(sorted(img.glob("*.tif")), stack="band")
    assert cube.attrs["processing_baseline"] == "04.00"
    got = cube.isel(CROP).eo.to_reflectance()
    np.testing.assert_array_equal(got.values, want)


def test_s2_after_2022_without_baseline_asks_and_harmonised_is_not_offset():
    dn = et.make_cube(bands=["B04", "B08"], times=2, dtype="uint16", ny=6, nx=6)
    assert pd.Timestamp(dn.time.values[0]) > radiometry.S2_OFFSET_SINCE
    with pytest.raises(UnitsError, match=r"to_reflectance\(scale=1e-4, offset=-0.1\)"):
        dn.eo.to_reflectance()
    harmonised = dn.assign_attrs({"earthsearch:boa_offset_applied": True})
    f = dn.values.astype(np.float64)
    np.testing.assert_array_equal(
        harmonised.eo.to_reflectance().values, np.where(f == 0, np.nan, f / 1e4).astype("f4")
    )
    given = dn.eo.to_reflectance(scale=1e-4, offset=-0.1)
    np.testing.assert_allclose(given.values, np.where(f == 0, np.nan, f * 1e-4 - 0.1), atol=1e-7)


def test_landsat_c2_l2_scale_offset_and_nodata():
    dn = et.make_cube(bands=["SR_B4", "SR_B5"], times=None, dtype="uint16", ny=9, nx=7, seed=3)
    dn = (dn + 7000).astype("uint16").where(dn.x != dn.x[0], 0).astype("uint16")
    got = dn.eo.to_reflectance()
    f = dn.values.astype(np.float64)
    want = np.where(f == 0, np.nan, 0.0000275 * f - 0.2).astype(np.float32)
    np.testing.assert_array_equal(got.values, want)
    assert bool(got.isel(x=0).isnull().all()) and "Collection 2 Level-2" in got.attrs["history"]


def test_landsat_level1_needs_scale_and_explicit_scale_works():
    folder = shared_path("l8_gulf_coast_l1_cc0")
    cube = eoxr.open_raster([folder / "l8_B4.tif", folder / "l8_B5.tif"], stack="band")
    cube = cube.isel(y=slice(0, 64), x=slice(0, 64))
    with pytest.raises(UnitsError, match=r"scale="):
        cube.eo.to_reflectance()
    got = cube.eo.to_reflectance(scale=2e-5, offset=-0.1, nodata=0)
    f = cube.values.astype(np.float64)
    np.testing.assert_allclose(
        got.values, np.where(f == 0, np.nan, f * 2e-5 - 0.1).astype("f4"), rtol=0, atol=0
    )


def test_lazy_and_chunk_invariant(chesapeake):
    lazy = chesapeake.chunk({"y": 50, "x": 40})
    with et.raise_if_dask_computes():
        out = lazy.eo.to_reflectance()
    et.assert_lazy(out)
    et.assert_chunk_invariant(lambda c: c.eo.to_reflectance(), chesapeake, rtol=0)


def test_dataset_keeps_quality_layers_and_dataarray_refuses_them():
    cube = et.make_cube(bands=["B04", "B08", "SCL"], times=None, dtype="uint16", ny=5, nx=5)
    ds = eoxr.bands.to_dataset(cube)
    out = ds.eo.to_reflectance()
    assert out.SCL.dtype == np.uint16 and out.B04.dtype == np.float32
    np.testing.assert_array_equal(out.SCL.values, ds.SCL.values)
    np.testing.assert_allclose(out.B08.values, np.where(ds.B08 == 0, np.nan, ds.B08 / 1e4))
    with pytest.raises(ParameterError, match=r"drop_sel\(band=\['SCL'\]\)"):
        cube.eo.to_reflectance()


def test_scale_on_reflectance_and_sar_are_refused():
    refl = et.make_cube(bands=["B04", "B08"], times=None)
    with pytest.raises(UnitsError, match="scale it twice"):
        refl.eo.to_reflectance(scale=1e-4)
    s1 = eoxr.datasets.synthetic_s1(shape=(16, 16), times=1).cube
    with pytest.raises(UnitsError, match="SAR backscatter"):
        s1.eo.to_reflectance(scale=1.0)


# --------------------------------------------------------------------------- silent wrong results


def test_scaling_twice_by_hand_then_scale_is_caught_in_the_graph(chesapeake):
    dn = chesapeake.astype("float32").assign_attrs(units="DN")  # as open_raster gives floats
    by_hand = dn * 1e-4  # the user converted; xarray kept units="DN"
    assert by_hand.attrs["units"] == "DN"
    lazy = by_hand.chunk({"y": 64})
    with et.raise_if_dask_computes():
        evi = lazy.eo.index("NDVI", scale=1e-4)  # stays lazy: the values decide when computed
    with pytest.raises(UnitsError, match=r"reflectance already.*assign_attrs\(units='1'\)"):
        evi.compute()
    with pytest.raises(UnitsError, match="reflectance already"):
        by_hand.eo.index("NDVI", scale=1e-4)  # numpy: at once
    # the advice works on the object the user holds, and gives the index of the real DN
    ok = by_hand.assign_attrs(units="1").eo.index("NDVI")
    want = dn.eo.index("NDVI", scale=1e-4).values  # scaled in float64 inside the kernel
    np.testing.assert_allclose(ok.values, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("res", [10, 20, "finest"])
def test_mixed_resolution_stack_units_do_not_depend_on_file_order(res):
    a = eoxr.open_raster(_s2_files("B04", "B05"), stack="band", resolution=res)
    b = eoxr.open_raster(_s2_files("B05", "B04"), stack="band", resolution=res)
    for cube in (a, b):
        assert cube.attrs["units"] == "DN" and np.isnan(cube.rio.nodata)
    ra = a.isel(y=slice(0, 40), x=slice(0, 40)).eo.to_reflectance()
    rb = b.isel(y=slice(0, 40), x=slice(0, 40)).eo.to_reflectance()
    np.testing.assert_array_equal(ra.sel(band=["B05", "B04"]).values, rb.values)
    assert ra.attrs["units"] == rb.attrs["units"] == "1"
    assert float(ra.max()) < 1.5  # reflectance, whichever file came first


def test_mixed_stack_of_dn_and_reflectance_files_is_refused(tmp_path):
    src = eoxr.open_raster(_s2_files("B04")[0]).isel(y=slice(0, 32), x=slice(0, 32))
    dn_path, refl_path = tmp_path / "dn_B04.tif", tmp_path / "refl_B08.tif"
    src.rio.to_raster(dn_path)  # written with its description: name the bands
    refl = (src.astype("float32") / 1e4).assign_attrs(units="1")
    refl.rio.to_raster(refl_path)
    with pytest.raises(UnitsError, match=r"dn_B04.tif: 'DN', refl_B08.tif: '?1.*to_reflectance"):
        eoxr.open_raster([dn_path, refl_path], stack="band", names=["B04", "B08"])


def test_float_dn_without_units_used_as_reflectance(chesapeake):
    floats = chesapeake.astype("float32").drop_attrs()  # DN as float, no units
    lazy = floats.chunk({"x": 64})
    with et.raise_if_dask_computes():
        savi = lazy.eo.index("SAVI")  # (1 + L)(N - R) / (N + R + L): wrong on DN, no error
    with pytest.raises(UnitsError, match=r"values around \d{3,}.*to_reflectance"):
        savi.compute()
    ok = floats.eo.to_reflectance(scale=1e-4)  # the advice works on the float DN
    want = chesapeake.eo.to_reflectance().eo.index("SAVI")
    np.testing.assert_allclose(ok.eo.index("SAVI").values, want.values, rtol=1e-6)


def test_to_db_on_reflectance_is_refused():
    refl = et.make_cube(bands=["B04", "B08"], times=None)
    with pytest.raises(UnitsError, match="optical reflectance") as err:
        refl.eo.to_db()
    assert "'dB'" not in str(err.value)
    stac_like = eoxr.bands.to_dataset(refl.drop_attrs())
    for v in stac_like.data_vars.values():
        v.attrs.update(units="1", scale_applied=1e-4)
    with pytest.raises(UnitsError, match="optical reflectance"):
        stac_like.eo.to_db()


def test_lee_on_db_advises_to_linear_not_estimate_looks():
    path = shared_path("s1_camargue_vv_db")
    db = eoxr.open_raster(next(path.glob("*.tif"))).squeeze("band", drop=True)
    labelled_linear = db.assign_attrs(units="1")  # e.g. 10 * np.log10(cube) kept units="1"
    for cube, fix in ((labelled_linear, "assign_attrs(units='dB').eo.to_linear()"), (db, "")):
        with pytest.raises(UnitsError) as err:
            cube.eo.denoise("lee").compute()
        msg = str(err.value)
        assert msg.startswith("lee:") and "estimate_looks" not in msg
        assert "to_linear()" in msg and fix in msg
    # the advice runs on the object the user holds, and is what a dB-declared cube gives
    lin = labelled_linear.assign_attrs(units="dB").eo.to_linear()
    want = db.assign_attrs(units="dB").eo.denoise("lee", looks=4.4)
    got = lin.eo.denoise("lee", looks=4.4).eo.to_db()
    np.testing.assert_allclose(got.values, want.values, rtol=1e-5, atol=1e-5)


def test_speckle_filter_on_optical_data_says_optical():
    s2 = eoxr.datasets.synthetic_s2(shape=(16, 16)).cube
    # reflectance, DN, and L2A-like values with negatives and no attrs
    cases = [s2, (s2.fillna(0) * 1e4).astype("uint16"), (s2 - 0.1).drop_attrs()]
    for cube in cases:
        with pytest.raises(UnitsError) as err:
            cube.eo.denoise("lee", size=5)
        msg = str(err.value)
        assert "optical reflectance" in msg and "SAR intensity" in msg
        assert "'dB'" not in msg and "units=" not in msg.replace("units '", "")
