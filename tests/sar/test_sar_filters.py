"""Speckle filters: float64 references, chunk exactness, NaN, dB, looks, errors, registry."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import eoxr
from eoxr import metrics, sar
from eoxr.errors import DataTypeError, DimensionError, ParameterError, UnitsError
from eoxr.sar.looks import sigma_range
from eoxr.testing import assert_chunk_invariant, make_cube, raise_if_dask_computes
from eoxr.testing.strategies import chunkings

# the float64 reference lives next to this file (tests use --import-mode=importlib)
_spec = importlib.util.spec_from_file_location(
    "sar_reference", Path(__file__).with_name("sar_reference.py")
)
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)
filter_ref = _ref.filter_ref

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
ADAPTIVE = ["lee", "kuan", "enhanced_lee", "gamma_map", "frost", "refined_lee", "lee_sigma"]
LOOKS = 3.0


def speckle_image(ny=30, nx=34, looks=LOOKS, seed=1, nan=True, dims=("y", "x")):
    """Piecewise-constant backscatter (an edge, a bright patch) times gamma speckle."""
    rng = np.random.default_rng(seed)
    clean = np.full((ny, nx), 0.05)
    clean[:, nx // 2 :] = 0.2
    clean[ny // 3 : ny // 3 + 4, 3:7] = 3.0
    img = clean * rng.gamma(looks, 1 / looks, size=(ny, nx))
    if nan:
        img[5, 6] = np.nan
        img[12:15, 20:23] = np.nan
    coords = {dims[0]: 5_000_000.0 - 10 * np.arange(ny), dims[1]: 500_000.0 + 10 * np.arange(nx)}
    return xr.DataArray(
        img.astype("float32"), dims=dims, coords=coords, attrs={"units": "1", "long_name": "sigma0"}
    ).rio.write_crs("EPSG:32631")


def params(name):
    p = {"looks": LOOKS} if name not in ("boxcar", "median") else {}
    if name in ADAPTIVE:
        p["point_threshold"] = 1.0  # the bright patch (3.0 x speckle) holds point targets
    return p


def ref_params(name):
    p = {"threshold": 1.0} if name in ADAPTIVE else {}
    if name == "lee_sigma":
        e1, e2, sv2 = sigma_range(LOOKS, 0.9)
        p.update(eta1=e1, eta2=e2, sv2=sv2)
    return p


@pytest.mark.parametrize(
    ("name", "size"),
    [(n, s) for n in FILTERS for s in (3, 7, (5, 3)) if n != "refined_lee" or s == 7],
)
def test_matches_float64_reference(name, size):
    img = speckle_image()
    given = size if isinstance(size, int) else {"y": size[0], "x": size[1]}
    got = getattr(sar, name)(img, size=given, **params(name))
    want = filter_ref(img.values, name, size, LOOKS, **ref_params(name))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got.values), np.isnan(want))
    np.testing.assert_allclose(got.values, want, rtol=1e-5, equal_nan=True)
    assert not np.allclose(got.values, img.values, equal_nan=True)  # it did filter


@pytest.mark.parametrize("name", FILTERS)
def test_chunk_exact_and_lazy(name):
    base = xr.concat([speckle_image(seed=s) for s in (1, 2)], dim="time").transpose("time", ...)
    chunkings = [
        {"y": 2, "x": 3},
        {"y": (4, 11, 15), "x": (20, 1, 13)},
        {"y": 13, "x": 8},
        {"time": 1, "y": 30, "x": 17},
    ]
    assert_chunk_invariant(
        lambda c: getattr(sar, name)(c, **params(name)), base, chunkings=chunkings, rtol=1e-6
    )


@pytest.mark.parametrize("name", FILTERS)
def test_extra_dims_filtered_per_slice_any_order(name):
    cube = xr.concat([speckle_image(seed=s) for s in (3, 4)], dim="band").assign_coords(
        band=["VV", "VH"]
    )
    xyb = cube.transpose("x", "band", "y")
    out = getattr(sar, name)(xyb, **params(name))
    assert out.dims == ("x", "band", "y") and out.dtype == np.float32
    one = getattr(sar, name)(cube.isel(band=1), **params(name))
    np.testing.assert_array_equal(out.sel(band="VH").transpose("y", "x").values, one.values)
    ds = getattr(sar, name)(xyb.to_dataset(dim="band").chunk({"y": 11}), **params(name))
    assert ds["VV"].dims == ("x", "y")
    np.testing.assert_allclose(ds["VH"].transpose("y", "x").values, one.values, rtol=1e-6)


def test_nan_stays_nan_and_edges_use_valid_part():
    img = speckle_image()
    out = sar.boxcar(img, size=3)
    assert np.isnan(out.values[5, 6]) and np.isnan(out.values[13, 21])
    assert np.isfinite(out.values[4, 6]) and np.isfinite(out.values[0, 0])
    # corner: mean of the 4 valid pixels of its 3x3 window
    np.testing.assert_allclose(out.values[0, 0], img.values[:2, :2].astype(float).mean(), rtol=1e-6)
    assert np.isfinite(sar.lee(img, looks=3).values[0, -1])


def test_metadata_history_and_looks_attr():
    img = speckle_image()
    out = sar.lee(img, looks=4.4)
    assert out.attrs["units"] == "1" and out.attrs["long_name"] == "sigma0"
    assert out.attrs["eoxr:looks"] == 4.4
    assert "lee speckle filter" in out.attrs["history"]
    assert out.rio.crs == img.rio.crs
    xr.testing.assert_equal(out.x, img.x)


def test_looks_estimated_when_missing_and_stored():
    from eoxr.datasets import synthetic_s1

    s = synthetic_s1(seed=3, shape=(128, 128), times=1, looks=2.0)
    out = sar.lee(s.cube)
    assert abs(out.attrs["eoxr:looks"] - 2.0) < 0.2
    # a looks attr on the input is used instead of estimating
    s.cube.attrs["eoxr:looks"] = 7.0
    assert sar.kuan(s.cube).attrs["eoxr:looks"] == 7.0


def test_estimate_looks_accuracy_and_chunk_independent():
    from eoxr.datasets import synthetic_s1

    for looks in (1.0, 4.4):
        cube = synthetic_s1(seed=5, shape=(160, 160), times=1, looks=looks).cube
        est = sar.estimate_looks(cube)
        assert abs(est - looks) / looks < 0.06
        assert sar.estimate_looks(cube.chunk({"y": 37, "x": 50})) == est


def test_db_input_round_trips_and_keeps_units():
    lin = speckle_image(nan=False)
    db = sar.to_db(lin)
    assert db.attrs["units"] == "dB"
    for name in ("lee", "refined_lee", "median"):
        out = getattr(sar, name)(db, **params(name))
        assert out.attrs["units"] == "dB"
        want = sar.to_db(getattr(sar, name)(lin, **params(name)))
        np.testing.assert_allclose(out.values, want.values, rtol=1e-5, atol=1e-4)


def test_negative_values_without_units():
    img = sar.to_db(speckle_image()).drop_attrs()
    with pytest.raises(UnitsError, match="units"):
        sar.lee(img, looks=3)
    lazy = sar.lee(img.chunk({"y": 10}), looks=3)  # lazily built, raises when computed
    with pytest.raises(UnitsError, match=r"attrs\['units'\] = 'dB'"):
        lazy.compute()
    img.attrs["units"] = "dB"
    assert np.isfinite(sar.lee(img, looks=3).values).any()


@pytest.mark.parametrize(
    "bad",
    [
        lambda c: c.astype("complex64"),
        lambda c: (c * 100).fillna(0).astype("int16"),
    ],
)
def test_bad_dtypes(bad):
    with pytest.raises(DataTypeError):
        sar.lee(bad(speckle_image()), looks=3)


def test_complex_message_says_how_to_convert():
    with pytest.raises(DataTypeError, match=r"abs\(slc\) \*\* 2"):
        sar.refined_lee(speckle_image().astype("complex64"), looks=3)


def test_wrong_dims_and_windows():
    img = speckle_image()
    with pytest.raises(DimensionError):
        sar.lee(img.rename(y="rows", x="cols"), looks=3)
    for size in (2, 4, 1, 6):
        with pytest.raises(ParameterError, match="odd integer"):
            sar.lee(img, size=size, looks=3)
    with pytest.raises(ParameterError, match="7x7"):
        sar.refined_lee(img, size=5, looks=3)
    with pytest.raises(ParameterError, match="looks"):
        sar.lee(img, looks=0)
    with pytest.raises(ParameterError):
        sar.frost(img, damping=-1)
    with pytest.raises(ParameterError):
        sar.lee_sigma(img, looks=3, sigma=0.2)


@pytest.mark.parametrize("name", ADAPTIVE)
def test_point_targets_kept_and_per_slice_threshold(name):
    img = speckle_image(nan=False)
    out = getattr(sar, name)(img, looks=LOOKS)  # 98th-percentile threshold computed per slice
    patch = (slice(10, 14), slice(3, 7))
    np.testing.assert_allclose(
        out.values[patch][1:-1, 1:-1], img.values[patch][1:-1, 1:-1], rtol=1e-6
    )
    off = getattr(sar, name)(img, looks=LOOKS, keep_points=False)
    if name not in ("enhanced_lee", "gamma_map"):  # these keep pixels with Ci >= Cmax anyway
        assert not np.allclose(off.values[patch][1:-1, 1:-1], img.values[patch][1:-1, 1:-1])
    two = xr.concat([img, img * 100], dim="time")
    out2 = getattr(sar, name)(two, looks=LOOKS)
    np.testing.assert_allclose(out2.values[1], out.values * 100, rtol=2e-6)
    # the percentile is a global statistic: computed exactly on any chunking
    lazy = getattr(sar, name)(two.chunk({"time": 1, "y": 7, "x": 9}), looks=LOOKS)
    np.testing.assert_allclose(lazy.values, out2.values, rtol=1e-6)


def test_refined_lee_keeps_edges_sharper_than_boxcar():
    rng = np.random.default_rng(0)
    clean = np.where(np.arange(40)[None, :] < 20, 0.05, 0.5) * np.ones((40, 1))
    img = xr.DataArray(
        (clean * rng.gamma(4, 0.25, clean.shape)).astype("float32"),
        dims=("y", "x"),
        attrs={"units": "1"},
    )
    err = {
        n: float(np.abs(getattr(sar, n)(img, looks=4).values[:, 17:23] - clean[:, 17:23]).mean())
        for n in ("refined_lee", "lee")
    }
    box = float(np.abs(sar.boxcar(img).values[:, 17:23] - clean[:, 17:23]).mean())
    assert err["refined_lee"] < err["lee"] < box


def test_denoise_verb_and_registry():
    table = eoxr.denoise_methods()
    sar_rows = table[table.kind == "sar"]
    assert set(FILTERS) <= set(sar_rows.method)
    img = speckle_image()
    np.testing.assert_array_equal(
        img.eo.denoise("lee", size=5, looks=3).values, sar.lee(img, size=5, looks=3).values
    )
    hsi = make_cube(bands=[f"b{i}" for i in range(30)], times=None)
    hsi = hsi.assign_coords(wavelength=("band", np.linspace(400, 2500, 30)))
    with pytest.raises(ParameterError, match="sar"):
        hsi.eo.denoise("lee", looks=3)


def test_synthetic_scene_adaptive_filters_raise_enl_keep_mean():
    from eoxr.datasets import synthetic_s1

    s = synthetic_s1(seed=0, shape=(160, 160), times=1, looks=4.4)
    cube = s.cube.isel(time=0, band=0)
    hom, lab = s.extras["homogeneous"], s.truth.isel(time=0, band=0)  # labels: clean value
    enl0 = metrics.enl(cube, mask=hom, labels=lab)
    assert abs(enl0 - 4.4) < 0.4
    for name in ADAPTIVE:
        out = getattr(sar, name)(cube, looks=4.4)
        assert metrics.enl(out, mask=hom, labels=lab) > 3 * enl0, name
        assert abs(metrics.mean_ratio(out, cube, mask=hom) - 1) < 0.02, name


def test_laziness_of_every_filter():
    img = speckle_image().chunk({"y": 15, "x": 17})
    with raise_if_dask_computes():  # defaults: looks estimated, 98th-percentile threshold
        outs = [img.eo.denoise(n) for n in FILTERS]
        outs += [getattr(sar, n)(img, **params(n)) for n in FILTERS]
    assert all(o.chunks is not None for o in outs)
    for name, out in zip(FILTERS, outs):
        np.testing.assert_allclose(out.values, getattr(sar, name)(img.compute()).values, rtol=1e-6)


def test_dataset_of_polarisations_is_filtered_per_variable():
    from eoxr.datasets import synthetic_s1

    cube = synthetic_s1(seed=0, shape=(40, 48), times=1).cube
    ds = cube.to_dataset(dim="band")
    out = ds.eo.denoise("lee", looks=4.4)
    assert isinstance(out, xr.Dataset) and set(out.data_vars) == {"VV", "VH"}
    np.testing.assert_array_equal(out["VH"].values, sar.lee(cube, looks=4.4).sel(band="VH").values)
    assert "lee" in out.attrs["history"] and out["VV"].attrs["eoxr:looks"] == 4.4


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_lee_and_refined_lee_on_random_chunkings(data):
    img = speckle_image(ny=21, nx=19)
    ch = data.draw(chunkings({"y": 21, "x": 19}))
    for name in ("lee", "refined_lee"):
        want = getattr(sar, name)(img, looks=LOOKS).values
        got = getattr(sar, name)(img.chunk(ch), looks=LOOKS).values
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", ADAPTIVE)
def test_estimated_looks_and_threshold_stay_in_the_graph(name):
    base = xr.concat([speckle_image(seed=s) for s in (1, 2)], dim="time")
    with raise_if_dask_computes():  # looks estimate and 98th percentile: part of the graph
        lazy = getattr(sar, name)(base.chunk({"time": 1, "y": 7, "x": 9}))
        other = getattr(sar, name)(base.chunk({"y": 13, "x": 30}))
    eager = getattr(sar, name)(base)
    np.testing.assert_allclose(lazy.values, eager.values, rtol=1e-6)
    np.testing.assert_allclose(other.values, eager.values, rtol=1e-6)
    if name != "frost":  # frost never uses the looks
        assert eager.attrs["eoxr:looks"] == pytest.approx(sar.estimate_looks(base), abs=1e-4)
        assert "eoxr:looks" not in lazy.attrs and "estimated" in lazy.attrs["history"]


def test_slice_quantile_lazy_and_close_to_exact():
    from eoxr.sar.looks import slice_quantile

    rng = np.random.default_rng(0)
    data = rng.gamma(LOOKS, 0.1, (3, 200, 200)).astype("f4")
    data[1] *= 1e-9  # far from 1: the bins are relative (256 per octave)
    data[2, rng.random((200, 200)) < 0.3] = np.nan  # NaN are not counted
    data[2, :5] = 0.0
    big = xr.DataArray(data, dims=("time", "y", "x"))
    with raise_if_dask_computes():
        q = slice_quantile(big.chunk({"time": 1, "y": 64, "x": 90}), 0.98)
    assert q.dims == ("time",) and q.chunks is not None
    # the stated bound: within 2**-8 of the exact order statistic of rank ceil(q n)
    for k in range(3):
        valid = data[k][np.isfinite(data[k])].astype(np.float64)
        exact = np.quantile(valid, 0.98, method="inverted_cdf")
        assert abs(q.values[k] / exact - 1) <= 2.0**-8
    # integer counts: exactly the same value on any chunking and in memory
    other = slice_quantile(big.chunk({"time": 2, "y": 13, "x": 200}), 0.98).values
    np.testing.assert_array_equal(q.values, other)
    np.testing.assert_array_equal(q.values, slice_quantile(big, 0.98).values)
    np.testing.assert_array_equal(q.values, slice_quantile(big.astype("f8"), 0.98).values)
    with pytest.raises(ParameterError):
        sar.lee_sigma(big, looks=LOOKS, point_threshold=0)


@pytest.mark.parametrize("name", ADAPTIVE)
def test_default_threshold_is_the_slice_percentile(name):
    """The default path filters at the documented statistic, per slice, on any chunking.

    Bit for bit the result of ``point_threshold=`` the slice's value; against the former
    default (data divided by the percentile, threshold 1, output multiplied back) the only
    difference is that float32 rounding of the scaling (1e-6 relative on the moment filters).
    """
    from eoxr.sar.looks import slice_quantile

    rng = np.random.default_rng(5)
    data = (rng.gamma(LOOKS, 1 / LOOKS, (2, 40, 48)) * [[[0.1]], [[3.0]]]).astype("f4")
    data[0, ::7, ::9] *= 50  # point targets
    data[0, 3:5, 3:5] = np.nan
    lin = xr.DataArray(data, dims=("time", "y", "x"), attrs={"units": "1"})
    kw = {} if name == "frost" else {"looks": LOOKS}
    default = getattr(sar, name)(lin, **kw)
    thr = slice_quantile(lin, 0.98).values.astype("f4")
    for k in range(2):
        one = lin.isel(time=k)
        given = getattr(sar, name)(one, point_threshold=float(thr[k]), **kw)
        np.testing.assert_array_equal(default.isel(time=k).values, given.values)
        if name in ("lee", "kuan", "enhanced_lee", "gamma_map"):
            scaled = getattr(sar, name)(one / thr[k], point_threshold=1.0, **kw) * thr[k]
            np.testing.assert_allclose(given.values, scaled.values, rtol=1e-6)
    for chunks in ({"time": 1, "y": 17, "x": 20}, {"time": 2, "y": 40, "x": 13}):
        lazy = getattr(sar, name)(lin.chunk(chunks), **kw)
        np.testing.assert_allclose(lazy.values, default.values, rtol=1e-6)
