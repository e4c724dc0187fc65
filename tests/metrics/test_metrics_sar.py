"""Speckle metrics on known statistics, and on the real Sentinel-1 sample."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import metrics, sar
from eoxr.datasets import synthetic_s1
from eoxr.errors import GridMismatchError
from tests.conftest import shared_path

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


def gamma_img(looks, shape=(200, 200), mean=0.1, seed=0):
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        (mean * rng.gamma(looks, 1 / looks, shape)).astype("float32"),
        dims=("y", "x"),
        attrs={"units": "1"},
    )


def test_enl_of_pure_speckle_and_per_label():
    img = gamma_img(3.0)
    assert abs(metrics.enl(img, mask=np.ones((200, 200), bool)) - 3.0) < 0.15
    assert abs(metrics.enl(img) - 3.0) < 0.6  # automatic homogeneous square (31x31)
    two = img.copy()
    two[:, 100:] *= 10  # two areas: pooled ENL collapses, per-label ENL does not
    labels = np.where(np.arange(200)[None, :] < 100, 0, 1) * np.ones((200, 1), int)
    assert metrics.enl(two, mask=np.ones((200, 200), bool)) < 1.0
    assert abs(metrics.enl(two, mask=np.ones((200, 200), bool), labels=labels) - 3.0) < 0.2
    assert abs(metrics.enl(sar.to_db(img), mask=np.ones((200, 200), bool)) - 3.0) < 0.15  # dB input


def test_ssi_mean_ratio_epi_identities():
    img = gamma_img(4.0)
    assert metrics.ssi(img, img) == pytest.approx(1.0)
    assert metrics.mean_ratio(img * 1.1, img) == pytest.approx(1.1, rel=1e-6)
    assert metrics.edge_preservation_index(img, img) == pytest.approx(1.0)
    assert metrics.ssi(sar.boxcar(img, size=5), img) < 0.5
    with pytest.raises(GridMismatchError):
        metrics.ssi(img, img.isel(x=slice(0, 50)))


def test_metrics_per_slice_return_dataarray():
    s = synthetic_s1(seed=0, shape=(64, 64), times=2)
    out = metrics.mean_ratio(sar.lee(s.cube, looks=4.4), s.cube)
    assert out.dims == ("time", "band") and np.all(np.abs(out.values - 1) < 0.03)


def test_homogeneous_mask_finds_a_flat_square():
    s = synthetic_s1(seed=1, shape=(128, 128), times=1)
    c = s.cube.isel(time=0, band=0)
    m = metrics.homogeneous_mask(c, size=21)
    assert int(m.sum()) == 21 * 21
    assert np.unique(s.truth.isel(time=0, band=0).values[m.values]).size == 1


def real_s1():
    import rioxarray

    tif = next(shared_path("s1_camargue_vv_db").glob("*.tif"))
    da = rioxarray.open_rasterio(tif).squeeze("band", drop=True)
    return da.assign_attrs(units="dB")


def test_real_s1_looks_and_filters():
    da = real_s1()
    assert da.attrs["units"] == "dB"
    looks = sar.estimate_looks(da)
    assert abs(looks - 4.4) < 0.3  # the sample's documented 7x7 ENL
    hom = metrics.homogeneous_mask(da)
    enl0 = metrics.enl(da, mask=hom)
    for name in FILTERS:
        out = getattr(sar, name)(da)
        assert out.attrs["units"] == "dB" and np.isfinite(out.values).all()
        assert metrics.enl(out, mask=hom) > 2 * enl0, name
        if name != "median":  # the median of gamma speckle is below its mean
            assert abs(metrics.mean_ratio(out, da, mask=hom) - 1) < 0.02, name
            assert abs(metrics.mean_ratio(out, da) - 1) < 0.035, name  # textured areas included


def test_metrics_and_looks_refuse_undeclared_db():
    from eoxr.errors import UnitsError

    db = sar.to_db(gamma_img(3.0)).drop_attrs()
    for call in (
        lambda: metrics.enl(db),
        lambda: sar.estimate_looks(db),
        lambda: sar.estimate_looks(db.chunk({"y": 50})),
    ):
        with pytest.raises(UnitsError, match="units"):
            call()
