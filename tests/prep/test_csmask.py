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

from tests.conftest import require

ort = require("onnxruntime", extra="onnx")
require("ukis_csmask", extra="csmask")

import eoxr.testing as et  # noqa: E402
from eoxr.embed import encoder, spec_from_json  # noqa: E402
from eoxr.errors import ParameterError, ReadError  # noqa: E402
from eoxr.prep.csmask import csmask, csmask_model  # noqa: E402
from tests._walk import BAND_MODULES, LAYERS, walk  # noqa: E402
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
    out = tile.eo.apply_model(enc, input_dims={"y": 256, "x": 256}, input_overlap={"y": 0, "x": 0})
    x = (tile.values - np.array(spec["mean"], "float32")[:, None, None]) / np.array(
        spec["std"], "float32"
    )[:, None, None]
    sess = ort.InferenceSession(enc.model, providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x[None].astype("float32")})[0][0]
    np.testing.assert_allclose(out.values, want, rtol=1e-4, atol=1e-4)


def test_lazy_and_chunk_invariant(scene) -> None:
    enc, _ = _encoder()
    crop = scene.isel(y=slice(0, 300), x=slice(0, 300))
    want = crop.eo.apply_model(
        enc, input_dims={"y": 256, "x": 256}, input_overlap={"y": 52, "x": 52}
    ).values
    with et.raise_if_dask_computes():
        lazy = crop.chunk({"y": 170, "x": 130}).eo.apply_model(
            enc, input_dims={"y": 256, "x": 256}, input_overlap={"y": 52, "x": 52}
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
    cube = et.make_cube(bands=["B02", "B03", "B04", "B08"], ny=64, nx=64, times=None)
    with pytest.raises(ParameterError, match="larger than the image"):
        csmask(cube)  # 256 px tiles on a 64 px cube
    with pytest.raises(ReadError, match="sidecar"):
        spec_from_json("/nonexistent/model.onnx")


def test_mask_clouds_method_csmask(scene) -> None:
    # A bright, flat patch (cloud-like reflectance) planted in a real clear crop: the verb sets
    # NaN exactly where the model's map says cloud or shadow, keeps every other value, and is
    # lazy and chunk-invariant.
    crop = scene.isel(y=slice(100, 400), x=slice(100, 400)).copy(deep=True)
    crop[:4, 100:180, 120:200] = 0.9
    crop[4:, 100:180, 120:200] = 0.6
    labels = csmask(crop, batch_size=4).values
    assert (labels[100:180, 120:200] == 1).mean() > 0.9  # the planted cloud is seen
    out = crop.eo.mask_clouds(method="csmask")
    bad = np.isin(labels, [1, 2])
    np.testing.assert_array_equal(np.isnan(out.values).any(axis=0), bad)
    np.testing.assert_array_equal(out.values[:, ~bad], crop.values[:, ~bad])
    assert "csmask" in out.attrs["history"] and out.dims == crop.dims
    with et.raise_if_dask_computes():
        lazy = crop.chunk({"y": 140, "x": 160}).eo.mask_clouds(method="csmask")
    et.assert_lazy(lazy)
    np.testing.assert_array_equal(np.isnan(lazy.values), np.isnan(out.values))
    only_shadow = crop.eo.mask_clouds(method="csmask", classes=["cloud shadow"]).values
    np.testing.assert_array_equal(np.isnan(only_shadow).any(axis=0), labels == 2)


def test_mask_clouds_csmask_bad_options(scene) -> None:
    crop = scene.isel(y=slice(0, 260), x=slice(0, 260))
    with pytest.raises(ParameterError, match="unknown csmask class 'snow'"):
        crop.eo.mask_clouds(method="csmask", classes=["snow"])
    with pytest.raises(ParameterError, match="drop mask=/kind="):
        crop.eo.mask_clouds(method="csmask", kind="scl")
    with pytest.raises(ParameterError, match="expected 'qa'"):
        crop.eo.mask_clouds(method="fmask-model")


@pytest.fixture(scope="module")
def dn_tile() -> xr.DataArray:
    """Chesapeake L1C digital numbers as delivered (uint16), six bands on the 20 m grid."""
    import eoxr

    folder = shared_path("s2_chesapeake_l1c_cc0")
    cube = eoxr.open_raster(
        [folder / f"s2_{b}.tif" for b in BANDS], stack="band", resolution=20, masked=False
    )
    tile = cube.isel(y=slice(300, 556), x=slice(200, 456)).load()
    tile[:4, 100:180, 120:200] = 9000  # a bright, flat, cloud-like patch, as in the test above
    tile[4:, 100:180, 120:200] = 6000
    return tile


def test_csmask_on_integer_dn_converts_with_the_product_scale(dn_tile) -> None:
    # Before: integer DN went into a model whose statistics are in reflectance (all NaN or
    # nothing masked, without a word). Sentinel-2 DN are now converted (DN / 10000 here: no
    # processing baseline in the files), so the map equals the one of the reflectance.
    assert dn_tile.dtype == np.uint16
    refl = (dn_tile.astype("float64") / 1e4).astype("float32").assign_attrs(units="1")
    want = csmask(refl, batch_size=4).values
    got = csmask(dn_tile, batch_size=4).values
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(got).all() and (got[100:180, 120:200] == 1).mean() > 0.9
    masked = dn_tile.eo.mask_clouds(method="csmask")
    bad = np.isin(want, [1, 2])
    np.testing.assert_array_equal(np.isnan(masked.values).any(axis=0), bad)
    np.testing.assert_array_equal(masked.values[:, ~bad], dn_tile.values[:, ~bad])


def test_csmask_refuses_dn_it_cannot_convert(dn_tile) -> None:
    from eoxr.errors import UnitsError

    unknown = dn_tile.assign_coords(band=ORDER)  # common names: no product, no scale
    with pytest.raises(UnitsError, match=r"to_reflectance\(scale="):
        csmask(unknown)
    floats = dn_tile.astype("float32").drop_attrs()  # DN as floats, no units
    with et.raise_if_dask_computes():
        lazy = csmask(floats.chunk({"y": 128}), batch_size=4)
    with pytest.raises(UnitsError, match="values around"):
        lazy.compute()


# ------------------------------------------------------------------ the walk of mask_clouds
# Issue 21: following the cube of mask_clouds(method="csmask") through the code, band and sensor
# resolution ran again and again (bands.py, _dims.py, _sensors.py, _bandtable.py entered with
# the cube in 9, 36, 20 and 22 frames on this product-like cube; 12 modules in all). The verb
# now resolves its cube once (eoxr._resolved.resolve_cube) and passes the value down.


def test_mask_clouds_csmask_resolves_the_bands_once(dn_tile) -> None:
    from eoxr.prep.masking import mask_clouds

    # a product-like cube: Sentinel-2 L1C digital numbers with the platform and the product ID
    product = dn_tile.assign_attrs(
        platform="sentinel-2a",
        product_id="S2A_MSIL1C_20230601T101031_N0509_R022_T32TQM_20230601T121001",
    )
    want = mask_clouds(product, method="csmask").values  # numpy, resolved the same way
    cube = product.chunk({"y": 128, "x": 128})
    with et.raise_if_dask_computes():
        out, entered, calls = walk(lambda: mask_clouds(cube, method="csmask"))
    et.assert_lazy(out)
    # band resolution runs once: one resolve_cube, one sensor resolution, no label look-up
    # from the cube anywhere else
    assert calls[("_resolved.py", "resolve_cube")] == 1
    assert calls[("_sensors.py", "resolve_sensor")] == 1
    assert calls[("bands.py", "resolve_band")] == 0
    assert calls[("_bandtable.py", "band_labels")] == 0
    # helpers get the resolved value, never the cube, in the modules that know bands and dims
    assert not [m for m in entered if m in BAND_MODULES], entered
    # at most 8 modules, the dask layer and radiometry counted as one each (they were one
    # module each, _chunks.py and radiometry.py, when the issue counted 15): today prep/masking,
    # prep/csmask, _resolved, radiometry, ml/apply, ml/preprocess, _attrs and _dask (chunking,
    # blockwise)
    layers = {m.split("/")[0] + "/" if m.startswith(LAYERS) else m for m in entered}
    assert len(layers) <= 8, sorted(entered)
    assert sum(entered.values()) < 100, entered  # frames that receive the cube; 172 before
    np.testing.assert_array_equal(np.isnan(out.values), np.isnan(want))
