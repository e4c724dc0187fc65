"""ONNX encoders on the real ukis-csmask U-Nets and a real Sentinel-2 L1C scene.

Figures at the time of writing (Chesapeake L1C at 20 m, 973 x 966 px, an almost clear scene):
eoxr's csmask agrees with ukis-csmask's CSmask on 99.99 % of pixels, CSmask with itself on a
50 px shifted scene on 99.96 %; on the five Slovenia dates (two fully cloudy) 99.73-100 %.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("ukis_csmask")

import eoxr.testing as et  # noqa: E402
from eoxr.embed import encoder, spec_from_json  # noqa: E402
from eoxr.embed.onnx import csmask, csmask_model  # noqa: E402
from eoxr.errors import ParameterError, ReadError  # noqa: E402
from tests.conftest import shared_path  # noqa: E402

BANDS = ["B02", "B03", "B04", "B08", "B11", "B12"]
ORDER = ["blue", "green", "red", "nir", "swir16", "swir22"]


@pytest.fixture(scope="module")
def scene() -> xr.DataArray:
    """Chesapeake L1C DN -> reflectance at 20 m: 10 m bands averaged 2 x 2, 20 m bands as is."""
    import rioxarray

    folder = shared_path("s2_chesapeake_l1c_cc0")
    arrays = []
    for b in BANDS:
        da = rioxarray.open_rasterio(folder / f"s2_{b}.tif").squeeze("band", drop=True)
        if b in ("B02", "B03", "B04", "B08"):
            da = da.coarsen(y=2, x=2, boundary="trim").mean()
        arrays.append(da)
    ny, nx = min(a.sizes["y"] for a in arrays), min(a.sizes["x"] for a in arrays)
    ref = arrays[-1]
    data = np.stack([a.values[:ny, :nx] for a in arrays]).astype("float32") / 1e4
    coords = {"band": BANDS, "y": ref.y.values[:ny], "x": ref.x.values[:nx]}
    return xr.DataArray(data, dims=("band", "y", "x"), coords=coords).rio.write_crs(ref.rio.crs)


def _encoder():
    path = csmask_model(6, "l1c")
    spec = spec_from_json(path)
    return encoder(str(path), bands=ORDER, mean=spec["mean"], std=spec["std"]), spec


def test_sidecar_spec_pins_published_statistics() -> None:
    spec = spec_from_json(csmask_model(6, "l1c"))
    assert spec["bands"] == ORDER and spec["patch"] == 256 and spec["classes"] == 3
    assert spec["mean"][0] == pytest.approx(0.27552253007888794)
    assert spec["std"][5] == pytest.approx(0.12604215741157532)
    enc = encoder(str(csmask_model(4, "l2a")))  # the sidecar fills bands, mean, std, patch
    assert list(enc.bands) == ["blue", "green", "red", "nir"] and enc.patch == 256


def test_single_tile_equals_session_by_hand(scene) -> None:
    enc, spec = _encoder()
    tile = scene.isel(y=slice(300, 556), x=slice(200, 456))
    out = tile.eo.apply_model(enc, {"y": 256, "x": 256}, {"y": 0, "x": 0})
    x = (tile.values - np.array(spec["mean"], "float32")[:, None, None]) / np.array(
        spec["std"], "float32"
    )[:, None, None]
    sess = ort.InferenceSession(enc.model, providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x[None].astype("float32")})[0][0]
    np.testing.assert_allclose(out.values, want, rtol=1e-4, atol=1e-4)


def test_lazy_and_chunk_invariant(scene) -> None:
    enc, _ = _encoder()
    crop = scene.isel(y=slice(0, 300), x=slice(0, 300))
    want = crop.eo.apply_model(enc, {"y": 256, "x": 256}, {"y": 52, "x": 52}).values
    with et.raise_if_dask_computes():
        lazy = crop.chunk({"y": 170, "x": 130}).eo.apply_model(
            enc, {"y": 256, "x": 256}, {"y": 52, "x": 52}
        )
    et.assert_lazy(lazy)
    np.testing.assert_allclose(lazy.values, want, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_scene_agrees_with_csmask_as_well_as_a_shift(scene) -> None:
    from ukis_csmask.mask import CSmask

    img = np.moveaxis(scene.values, 0, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CSmask(img.copy(), ORDER, batch_size=4).csm[..., 0]
        shifted = CSmask(img[50:, 50:].copy(), ORDER, batch_size=4).csm[..., 0]
    self_agreement = (shifted == ref[50:, 50:]).mean()
    ours = csmask(scene.chunk({"y": 512, "x": 512}), batch_size=4)
    assert ours.attrs["flag_meanings"] == "clear cloud cloud_shadow"
    agreement = (ours.values == ref).mean()
    assert agreement >= self_agreement - 5e-4 and agreement > 0.999


def test_csmask_bad_input() -> None:
    cube = et.make_cube(["B02", "B03", "B04", "B08"], ny=64, nx=64, times=None)
    with pytest.raises(ParameterError, match="larger than the image"):
        csmask(cube)  # 256 px tiles on a 64 px cube
    with pytest.raises(ReadError, match="sidecar"):
        spec_from_json("/nonexistent/model.onnx")
