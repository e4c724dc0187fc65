"""index / indices on synthetic cubes: values, constants, errors, metadata, dask behaviour."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings

import eoxr
import eoxr.testing as et
from eoxr.errors import (
    BandNotFoundError,
    CatalogError,
    DataTypeError,
    ParameterError,
    UnitsError,
)
from eoxr.indices import index, indices
from eoxr.testing import raise_if_dask_computes
from eoxr.testing.strategies import chunkings

BANDS = ["B02", "B03", "B04", "B05", "B08", "B11", "B12"]


@pytest.fixture(scope="module")
def cube():
    return et.make_cube(bands=BANDS, ny=24, nx=20, times=3, seed=1, nan_fraction=0.05)


def _b(cube, label):
    return cube.sel(band=label).astype("float64")


def test_ndvi_values_dtype_and_metadata(cube):
    got = cube.eo.index("NDVI")
    n, r = _b(cube, "B08"), _b(cube, "B04")
    np.testing.assert_allclose(got, ((n - r) / (n + r)).astype("float32"), rtol=1e-7)
    assert got.name == "NDVI" and got.dtype == np.float32 and got.dims == ("time", "y", "x")
    assert got.attrs["long_name"] == "Normalized Difference Vegetation Index"
    assert got.attrs["formula"] == "(N - R)/(N + R)" and "ntrs.nasa.gov" in got.attrs["reference"]
    assert got.attrs["index_bands"] == "N=B08, R=B04"
    assert "index NDVI" in got.attrs["history"] and "units" not in got.attrs
    assert got.rio.crs == cube.rio.crs
    for c in ("time", "y", "x"):
        np.testing.assert_array_equal(got[c], cube[c])
    assert "band" not in got.coords


def test_constants_defaults_and_overrides(cube):
    n, r, b = _b(cube, "B08"), _b(cube, "B04"), _b(cube, "B02")
    evi = cube.eo.index("EVI")  # g=2.5, C1=6, C2=7.5, L=1 from the ASI constants table
    np.testing.assert_allclose(evi, 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1), rtol=1e-6)
    assert evi.attrs["index_constants"] == "C1=6, C2=7.5, L=1, g=2.5"
    savi = cube.eo.index("SAVI", L=0.25)
    np.testing.assert_allclose(savi, 1.25 * (n - r) / (n + r + 0.25), rtol=1e-6)
    ds = cube.eo.indices(["SAVI", "EVI"], L=0.5)  # a constant applies to every index using it
    np.testing.assert_allclose(ds.SAVI, 1.5 * (n - r) / (n + r + 0.5), rtol=1e-6)
    np.testing.assert_allclose(ds.EVI, 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 0.5), rtol=1e-6)


def test_wavelength_constants_from_sensor_table(cube):
    # FAI uses lambdaN/lambdaR/lambdaS1: taken from the Sentinel-2 band table.
    got = cube.eo.index("FAI")
    n, r, s1 = _b(cube, "B08"), _b(cube, "B04"), _b(cube, "B11")
    lam = {"N": 832.8, "R": 664.6, "S1": 1613.7}
    ref = n - (r + (s1 - r) * ((lam["N"] - lam["R"]) / (lam["S1"] - lam["R"])))
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
    assert "lambdaN=832.8" in got.attrs["index_constants"]


def test_constant_without_default_is_named(cube):
    with pytest.raises(ParameterError, match="'PAR'.*no default"):
        cube.eo.index("NIRvP")
    par = cube.eo.index("NIRvP", PAR=2.0)
    n, r = _b(cube, "B08"), _b(cube, "B04")
    np.testing.assert_allclose(par, (n - r) / (n + r) * n * 2.0, rtol=1e-6)


def test_unknown_constant_and_unknown_index(cube):
    with pytest.raises(ParameterError, match="unknown constants \\['LL'\\]"):
        cube.eo.index("SAVI", LL=0.5)
    with pytest.raises(CatalogError, match="Did you mean.*NDVI"):
        cube.eo.index("NDIV")
    assert cube.eo.index("ndvi").name == "NDVI"  # unique case-insensitive match


def test_missing_band_names_band_and_computable_indices(cube):
    small = cube.sel(band=["B03", "B04", "B08"])
    with pytest.raises(BandNotFoundError) as err:
        small.eo.index("NBR")  # (N - S2) / (N + S2)
    msg = str(err.value)
    assert "S2 (swir22)" in msg and "NDVI" in msg and "GNDVI" in msg and "B08" in msg
    assert isinstance(err.value, KeyError)


def test_integer_dn_refused_or_scaled():
    dn = et.make_cube(bands=["B04", "B08"], dtype="uint16", ny=8, nx=8, seed=2)
    with pytest.raises(DataTypeError, match="scale=1e-4"):
        dn.eo.index("NDVI")
    dn = dn.where(dn.x != dn.x[0], 0).astype("uint16")  # a nodata column
    got = dn.eo.indices(["NDVI", "DVI"], scale=1e-4, nodata=0)
    refl = dn.astype("float64").where(dn != 0) * 1e-4
    n, r = refl.sel(band="B08"), refl.sel(band="B04")
    np.testing.assert_allclose(got.NDVI, (n - r) / (n + r), rtol=1e-6)
    np.testing.assert_allclose(got.DVI, n - r, rtol=1e-5)
    assert got.NDVI.dtype == np.float32 and bool(got.NDVI.isel(x=0).isnull().all())
    off = dn.eo.index("DVI", scale=1e-4, offset=-0.1)  # offsets cancel in DVI
    dnf = dn.astype("float64")
    np.testing.assert_allclose(off, (dnf.sel(band="B08") - dnf.sel(band="B04")) * 1e-4, atol=1e-6)


def test_zero_denominator_and_nan_rules():
    data = np.array([[[0.0, 0.2, np.nan, 0.3, 0.0]], [[0.0, -0.2, 0.5, 0.3, 0.4]]], dtype="float32")
    c = xr.DataArray(data, dims=("band", "y", "x"), coords={"band": ["red", "nir"]})
    ndvi = c.eo.index("NDVI").values[0]
    assert np.isnan(ndvi[0]) and np.isnan(ndvi[1])  # 0/0 and x/0 -> NaN, never +-inf
    assert np.isnan(ndvi[2]) and ndvi[3] == 0.0 and ndvi[4] == 1.0
    ratio = c.eo.index("N / R").values[0]
    np.testing.assert_array_equal(ratio, [np.nan, -1.0, np.nan, 1.0, np.nan])
    assert not np.isinf(c.eo.index("SR").values).any()


def test_dataset_input_equals_dataarray(cube):
    ds = eoxr.bands.to_dataset(cube)
    a = cube.eo.indices(["NDVI", "EVI", "NDMI"])
    b = ds.eo.indices(["NDVI", "EVI", "NDMI"])
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert b.NDVI.attrs["index_bands"] == "N=B08, R=B04"


def test_common_name_and_landsat_labels():
    c = et.make_cube(bands=["red", "nir", "swir16"], ny=6, nx=6, seed=4)
    assert c.eo.index("NDMI").attrs["index_bands"] == "N=nir, S1=swir16"
    ls = et.make_cube(bands=["SR_B4", "SR_B5", "SR_B6"], ny=6, nx=6, seed=4)
    assert ls.eo.index("NDVI").attrs["index_bands"] == "N=SR_B5, R=SR_B4"  # nir08 fallback


def test_kernel_indices(cube):
    n, r = _b(cube, "B08"), _b(cube, "B04")
    # sigma = (N + R) / 2 per pixel: kNDVI = tanh(NDVI^2) (Camps-Valls et al. 2021, eq. 3).
    got = cube.eo.index("kNDVI", sigma="0.5 * (N + R)")
    np.testing.assert_allclose(got, np.tanh(((n - r) / (n + r)) ** 2), rtol=1e-6, atol=1e-7)
    default = cube.eo.index("kNDVI")  # catalog sigma = 0.5, RBF kernel
    knr = np.exp(-((n - r) ** 2) / (2 * 0.5**2))
    np.testing.assert_allclose(default, (1 - knr) / (1 + knr), rtol=1e-5, atol=1e-7)
    poly = cube.eo.index("kRVI", kernel="poly", p=2, c=1)
    np.testing.assert_allclose(poly, (n * n + 1) ** 2 / (n * r + 1) ** 2, rtol=1e-6)
    with pytest.raises(ParameterError, match="kernel='gauss'"):
        cube.eo.index("kNDVI", kernel="gauss")


def test_band_coords_dropped_grid_kept(cube):
    wl = cube.assign_coords(wavelength=("band", [490.0, 560, 665, 705, 842, 1610, 2190]))
    for c in (wl, wl.chunk({"time": 1})):
        got = c.eo.indices(["NDVI", "NBR"])
        assert set(got.coords) == {"time", "y", "x", "spatial_ref"}
        assert got.NDVI.dims == ("time", "y", "x")


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint16", "int16"])
def test_output_is_float32_whatever_the_input(dtype):
    c = et.make_cube(bands=["B04", "B08"], dtype=dtype, ny=6, nx=6, seed=3)
    scale = 1e-4 if np.dtype(dtype).kind in "iu" else None
    for cube in (c, c.chunk({"x": 4})):
        got = cube.eo.index("NDVI", scale=scale)
        assert got.dtype == np.float32
        assert got.compute().dtype == np.float32
    f = c.astype("float64") * (scale or 1)
    n, r = f.sel(band="B08"), f.sel(band="B04")
    tol = 2e-3 if dtype == "float16" else 1e-6
    np.testing.assert_allclose(got, (n - r) / (n + r), rtol=tol, atol=tol)


def test_scale_on_reflectance_floats_refused(cube):
    assert float(abs(cube.eo.index("EVI")).mean()) > 0.01  # reflectance-range values
    with pytest.raises(UnitsError, match="already floating point") as err:
        cube.eo.index("EVI", scale=1e-4)
    assert "Drop scale=" in str(err.value) and "1.8e-05" in str(err.value)
    lazy = cube.chunk({"x": 5})
    with raise_if_dask_computes(), pytest.raises(UnitsError):  # from dtype and attrs only
        lazy.eo.indices(["NDVI", "EVI"], scale=1e-4)
    # load_stac output says the scale is applied already
    ds = eoxr.bands.to_dataset(cube.drop_attrs())
    for v in ds.data_vars.values():
        v.attrs.update(units="1", scale_applied=1e-4)
    with pytest.raises(UnitsError):
        ds.eo.index("NDVI", scale=1e-4)
    assert cube.eo.index("NDVI", scale=1).dtype == np.float32  # a no-op scale is harmless


def test_float_dn_declared_by_attrs():
    dn = et.make_cube(bands=["B02", "B04", "B08"], dtype="uint16", ny=6, nx=6, seed=5)
    refl_evi = float((dn.astype("float64") * 1e-4).assign_attrs(units="1").eo.index("EVI").mean())
    as_float = dn.astype("float32").assign_attrs(units="DN")
    got = float(as_float.eo.index("EVI", scale=1e-4).mean())
    assert got == pytest.approx(refl_evi, rel=1e-5)
    with pytest.raises(UnitsError, match="digital numbers"):
        as_float.eo.index("EVI")  # units say DN: a scale is needed
    # a file scale factor that rioxarray left unapplied: raw values, scale accepted
    raw = dn.astype("float32").drop_attrs().assign_attrs(scale_factor=1e-4, add_offset=0.0)
    assert float(raw.eo.index("EVI", scale=1e-4).mean()) == pytest.approx(refl_evi, rel=1e-5)
    # ...but rioxarray writes scale_factor=1.0 on every file, reflectance too: not a DN sign
    refl = (dn * 1e-4).astype("float32").drop_attrs().assign_attrs(scale_factor=1.0)
    with pytest.raises(UnitsError, match="already floating point"):
        refl.eo.index("EVI", scale=1e-4)


def test_mapping_names_custom_outputs(cube):
    ds = cube.eo.indices({"ratio": "N / R", "NDVI": "NDVI"})
    assert list(ds.data_vars) == ["ratio", "NDVI"]
    with pytest.raises(ParameterError, match="duplicate"):
        cube.eo.indices(["NDVI", "NDVI"])


def test_lazy_and_one_task_per_chunk(cube):
    lazy = cube.chunk({"time": 1, "y": 12, "x": 10})
    names = ["NDVI", "EVI", "NDWI", "SAVI", "NBR", "NDMI", "GNDVI", "MSAVI", "NDREI", "kNDVI"]
    with et.raise_if_dask_computes():
        ds = lazy.eo.indices(names)
    et.assert_lazy(ds)
    n_chunks = 3 * 2 * 2
    graph = dict(ds.__dask_graph__())
    kernel_tasks = [
        k
        for k in graph
        if isinstance(k, tuple) and str(k[0]).startswith("eoxr-indices") and "-out" not in str(k[0])
    ]
    assert len(kernel_tasks) == n_chunks  # ONE task per chunk computes all ten indices
    layer = {str(k[0]) for k in kernel_tasks}.pop()
    for name in names:  # every index is a cheap selection from that task's result
        assert ds[name].data.name.startswith(layer + "-out")
    with dask.config.set(scheduler="sync"):
        got = ds.compute()
    eager = cube.eo.indices(names)
    xr.testing.assert_allclose(got, eager, rtol=0, atol=0)


def test_chunk_invariance_default_chunkings(cube):
    et.assert_chunk_invariant(lambda c: c.eo.indices(["NDVI", "EVI", "TGI", "kNDVI"]), cube, rtol=0)
    et.assert_chunk_invariant(
        lambda c: c.eo.index("MCARI2"),
        cube,
        chunkings=[{"time": 1, "band": 1, "y": 7, "x": 3}, {"band": 2}],
        rtol=0,
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ch=chunkings({"time": 3, "band": 7, "y": 24, "x": 20}))
def test_chunk_invariance_random_chunkings(ch):
    c = et.make_cube(bands=BANDS, ny=24, nx=20, times=3, seed=1, nan_fraction=0.05)
    et.assert_chunk_invariant(lambda x: x.eo.indices(["NDVI", "NBR"]), c, chunkings=[ch], rtol=0)


def test_function_api_equals_accessor(cube):
    xr.testing.assert_identical(
        index(cube, "NDVI").drop_attrs(), cube.eo.index("NDVI").drop_attrs()
    )
    assert list(indices(cube, "NDVI").data_vars) == ["NDVI"]


def test_kernels_cached_on_disk(tmp_path, monkeypatch, cube):
    monkeypatch.setenv("EOXR_CACHE_DIR", str(tmp_path))
    got = cube.eo.index("N / R + 0.0123")  # a plan no other test compiles
    files = sorted(p.name for p in (tmp_path / "kernels").glob("k_*.py"))
    assert len(files) == 1
    text = (tmp_path / "kernels" / files[0]).read_text()
    assert "cache=True" in text and "_div(" in text
    np.testing.assert_allclose(got, _b(cube, "B08") / _b(cube, "B04") + 0.0123, rtol=1e-6)
    monkeypatch.setenv("EOXR_KERNEL_CACHE", "0")
    cube.eo.index("N / R + 0.0456")
    assert len(list((tmp_path / "kernels").glob("k_*.py"))) == 1


def test_dataset_with_time_and_bands_in_different_dim_orders(cube):
    ds = eoxr.bands.to_dataset(cube)
    ds["B08"] = ds["B08"].transpose("x", "time", "y")
    ds["B04"] = ds["B04"].transpose("y", "time", "x")
    ref = cube.eo.indices(["NDVI", "EVI"])
    lazy = ds.chunk({"time": 1, "y": 12, "x": 10})
    with et.raise_if_dask_computes():
        got = lazy.eo.indices(["NDVI", "EVI"])
    et.assert_lazy(got)
    graph = dict(got.__dask_graph__())
    kernel_tasks = [
        k
        for k in graph
        if isinstance(k, tuple) and str(k[0]).startswith("eoxr-indices") and "-out" not in str(k[0])
    ]
    assert len(kernel_tasks) == 3 * 2 * 2  # one task per chunk for both indices
    for name in ("NDVI", "EVI"):
        assert got[name].dtype == np.float32 and set(got[name].dims) == {"time", "y", "x"}
        xr.testing.assert_allclose(
            got[name].compute().transpose(*ref[name].dims), ref[name], rtol=0, atol=0
        )
        xr.testing.assert_allclose(
            ds.eo.index(name).transpose(*ref[name].dims), ref[name], rtol=0, atol=0
        )


@pytest.mark.parametrize("order", [("band", "time", "y", "x"), ("y", "x", "time", "band")])
def test_band_dim_anywhere_keeps_other_dims_in_order(cube, order):
    c = cube.transpose(*order)
    ref = cube.eo.index("EVI")
    for data in (c, c.chunk({"time": 1, "y": 7, "x": 6})):
        got = data.eo.index("EVI")
        assert got.dims == tuple(d for d in order if d != "band")
        xr.testing.assert_allclose(got.compute().transpose(*ref.dims), ref, rtol=0, atol=0)


def test_float16_input_is_read_as_float32(cube):
    half = cube.astype("float16")
    n, r = (half.sel(band=b).astype("float64") for b in ("B08", "B04"))
    for c in (half, half.chunk({"time": 1})):
        got = c.eo.index("NDVI")  # numba cannot load float16: widened per block
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, (n - r) / (n + r), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32"])
def test_integer_dtypes_scaled_in_kernel(cube, dtype):
    dn = (cube.fillna(0) * 100).round().astype(dtype)
    got = dn.eo.index("NDVI", scale=0.01, nodata=0)
    refl = dn.astype("float64").where(dn != 0) * 0.01
    n, r = refl.sel(band="B08"), refl.sel(band="B04")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, (n - r) / (n + r), rtol=1e-6)


def test_offset_without_scale_is_applied(cube):
    got = cube.eo.index("N + 0", offset=-0.1)  # used to be ignored silently
    np.testing.assert_allclose(got, _b(cube, "B08") - 0.1, rtol=1e-6)
    assert got.attrs["input_scaling"] == "reflectance = DN * 1 + -0.1"


def test_kernel_cache_unusable_folders_fall_back(tmp_path, monkeypatch, cube):
    from eoxr.indices import _kernel

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("EOXR_CACHE_DIR", str(blocker))  # mkdir fails like a read-only home
    assert _kernel.cache_dir() is None
    got = cube.eo.index("N / R + 0.0789")
    np.testing.assert_allclose(got, _b(cube, "B08") / _b(cube, "B04") + 0.0789, rtol=1e-6)
    shared = tmp_path / "shared"
    (shared / "kernels").mkdir(parents=True)
    (shared / "kernels").chmod(0o777)  # others could plant code there: not used
    monkeypatch.setenv("EOXR_CACHE_DIR", str(shared))
    assert _kernel.cache_dir() is None


def test_kernel_cache_rewrites_a_foreign_file(tmp_path, monkeypatch, cube):
    from eoxr.indices import _kernel

    monkeypatch.setenv("EOXR_CACHE_DIR", str(tmp_path))
    formula = "N / R - 0.0321"
    cube.eo.index(formula)
    (path,) = (tmp_path / "kernels").glob("k_*.py")
    path.write_text("raise SystemExit('planted')\n")  # truncated or foreign content
    _kernel.compile_plan.cache_clear()
    got = cube.eo.index(formula)
    assert "planted" not in path.read_text() and "def kernel(" in path.read_text()
    np.testing.assert_allclose(got, _b(cube, "B08") / _b(cube, "B04") - 0.0321, rtol=1e-6)


def test_kernel_cache_concurrent_processes(tmp_path):
    import subprocess
    import sys

    code = (
        "import numpy as np, eoxr, eoxr.testing as et\n"
        "c = et.make_cube(bands=['B04', 'B08'], ny=6, nx=6, times=1, seed=5)\n"
        "g = c.eo.index('N * R + 0.0654')\n"
        "n, r = (c.sel(band=b).astype('f8') for b in ('B08', 'B04'))\n"
        "np.testing.assert_allclose(g, n * r + 0.0654, rtol=1e-6)\n"
    )
    env = {**__import__("os").environ, "EOXR_CACHE_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in procs:  # all first-time writers of the same kernel file, at once
        assert p.wait(timeout=120) == 0, p.stderr.read().decode()
    assert len(list((tmp_path / "kernels").glob("k_*.py"))) == 1
    assert not list((tmp_path / "kernels").glob(".k_*.tmp"))


def test_nan_propagates_through_powers_ieee_would_make_one():
    # IEEE pow gives NaN ** 0 = 1 and 1 ** NaN = 1; NaN in must still give NaN out.
    data = np.array([[[np.nan, 0.2]], [[0.3, np.nan]]], dtype="float32")
    c = xr.DataArray(data, dims=("band", "y", "x"), coords={"band": ["red", "nir"]})
    np.testing.assert_array_equal(c.eo.index("N ** L", L=0).values[0], [1.0, np.nan])
    np.testing.assert_array_equal(c.eo.index("1 ** N").values[0], [1.0, np.nan])
    # kNR = (N * R + c) ** p reads the NaN red band of pixel 0 and the NaN NIR of pixel 1.
    kvi = c.eo.index("kRVI", kernel="poly", p=0, c=1)
    np.testing.assert_array_equal(kvi.values[0], [np.nan, np.nan])


def test_real_reflectance_refuses_a_second_scale(s2_slovenia):
    # Real Sentinel-2 L1C TOA reflectance (0-1) as float32: EVI is about 0.5; scale=1e-4 would
    # have shrunk it to about 5e-5 without a word.
    evi = s2_slovenia.eo.index("EVI")
    assert 0.3 < float(evi.mean()) < 0.7
    with pytest.raises(UnitsError, match="already floating point"):
        s2_slovenia.eo.index("EVI", scale=1e-4)


@pytest.mark.parametrize("chunked", [False, True])
def test_ndvi_bit_identical_to_float64_textbook_cast_to_float32(chunked):
    # >= 1 Mpx: the eager path splits the rows among threads; planted zero denominators and NaN.
    rng = np.random.default_rng(7)
    ny, nx = 1100, 1000
    red = rng.uniform(0.0, 0.6, (ny, nx)).astype(np.float32)
    nir = rng.uniform(0.0, 0.8, (ny, nx)).astype(np.float32)
    zero = rng.random((ny, nx)) < 0.01
    red[zero] = 0.0
    nir[zero] = 0.0
    red[rng.random((ny, nx)) < 0.01] = np.nan
    cube = xr.DataArray(
        np.stack([red, nir]),
        dims=("band", "y", "x"),
        coords={"band": ["B04", "B08"], "y": np.arange(ny), "x": np.arange(nx)},
        attrs={"units": "1"},
    )
    if chunked:
        cube = cube.chunk({"y": 300, "x": 400})
    got = cube.eo.index("NDVI").values
    n, r = nir.astype(np.float64), red.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = ((n - r) / (n + r)).astype(np.float32)  # textbook float64, stored as float32
    assert np.isnan(want[zero]).all()
    np.testing.assert_array_equal(got, want)  # bit for bit (NaN where NaN)
    ok = ~np.isnan(want)  # and the bits too (assert_array_equal takes -0.0 == 0.0)
    assert np.array_equal(got.view(np.uint32)[ok], want.view(np.uint32)[ok])
