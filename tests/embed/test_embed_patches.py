"""embed: per-patch vectors on the patch-centre grid, exact preprocessing, chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")

import eoxr.testing as et  # noqa: E402
from eoxr.embed import Encoder, embed, encoder  # noqa: E402
from eoxr.errors import BandNotFoundError, ParameterError  # noqa: E402

CUBE = et.make_cube(bands=("B02", "B03", "B04", "B08"), ny=45, nx=38, times=2)
POOL = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
MEAN, STD = [2500.0, 900.0, 700.0], [800.0, 400.0, 300.0]


def _pooling_encoder() -> Encoder:
    return encoder(
        POOL, bands=["nir", "green", "blue"], mean=MEAN, std=STD, scale=10000, name="meanpool"
    )


def _block_means(cube, bands, p: int, s: int) -> np.ndarray:
    """Oracle: the mean of each whole patch of the preprocessed bands, in float64."""
    x = cube.sel(band=bands).values.astype(np.float64) * 10000
    x = (x - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None]
    ny, nx = x.shape[-2:]
    rows, cols = range(0, ny - p + 1, s), range(0, nx - p + 1, s)
    out = np.empty((*x.shape[:-2], len(rows), len(cols)))
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            out[..., i, j] = x[..., r : r + p, c : c + p].mean(axis=(-1, -2))
    return out


@pytest.mark.parametrize("patch,stride", [(8, 8), (8, 4), (10, 7)])
def test_mean_pool_golden(patch: int, stride: int) -> None:
    """A mean-pooling model returns the block means of the preprocessed bands, in spec order."""
    shuffled = CUBE.isel(band=[3, 0, 2, 1])  # the cube's order must not matter
    emb = embed(shuffled, _pooling_encoder(), patch=patch, stride=stride)
    want = _block_means(CUBE, ["B08", "B03", "B02"], patch, stride)
    assert emb.dims == ("time", "feature", "y", "x") and emb.dtype == np.float32
    np.testing.assert_allclose(emb.values, want, rtol=1e-5, atol=1e-5)


def test_centres_are_patch_coordinate_means() -> None:
    emb = embed(CUBE, _pooling_encoder(), patch=10, stride=7)
    ny = (45 - 10) // 7 + 1
    assert emb.sizes["y"] == ny and emb.sizes["x"] == (38 - 10) // 7 + 1
    for i in range(ny):
        assert emb.y.values[i] == np.mean(CUBE.y.values[i * 7 : i * 7 + 10])
    assert emb.x.values[2] == np.mean(CUBE.x.values[14:24])
    assert emb.rio.crs == CUBE.rio.crs
    np.testing.assert_array_equal(emb.time, CUBE.time)
    a = emb.attrs
    assert a["encoder"] == "meanpool" and a["encoder_scale"] == 10000.0
    assert a["encoder_bands"] == ["nir", "green", "blue"] and a["patch"] == 10
    assert a["stride"] == 7 and "embed(" in a["history"]


def test_chunk_invariant_and_lazy() -> None:
    enc = encoder("rcf", bands=["red", "nir", "blue"], features=16, seed=3)
    et.assert_chunk_invariant(
        lambda c: embed(c, enc, patch=9, stride=5),
        CUBE,
        chunkings=[{"y": 11, "x": 13, "time": 1}, {"y": 20, "x": 7, "time": 2}, {"y": 45, "x": 38}],
        rtol=1e-5,
        atol=1e-6,
    )


def test_nan_patches_are_skipped() -> None:
    cube = CUBE.copy(data=CUBE.values.copy())
    cube[0, :, :16, :16] = np.nan  # the first 2x2 patches of date 0 are all NaN
    cube[1, 0, 3, 3] = np.nan  # one band of one pixel: the patch still runs
    calls = []
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    net.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    enc = encoder(net, bands=["nir", "green", "blue"], mean=MEAN, std=STD, scale=10000)
    emb = embed(cube, enc, patch=8).values
    assert np.isnan(emb[0, :, :2, :2]).all() and np.isfinite(emb[0, :, 2:, :]).all()
    assert np.isfinite(emb[1]).all()
    total = 2 * (45 // 8) * (38 // 8)
    assert sum(calls[1:]) == total - 4  # after the probe: every patch with a valid pixel, once


def test_dataset_input_and_accessor() -> None:
    ds = CUBE.isel(time=0).eo.to_dataset()
    a = ds.eo.embed(_pooling_encoder(), patch=8)
    b = CUBE.isel(time=0).eo.embed(_pooling_encoder(), patch=8)
    np.testing.assert_allclose(a.values, b.values)


def test_errors() -> None:
    with pytest.raises(BandNotFoundError, match="swir16"):
        embed(CUBE, encoder(POOL, bands=["red", "swir16"]))
    with pytest.raises(ParameterError, match="larger than the cube"):
        embed(CUBE, _pooling_encoder(), patch=64)
    with pytest.raises(ParameterError, match="stride <= patch"):
        embed(CUBE, _pooling_encoder(), patch=8, stride=9)
    with pytest.raises(ParameterError, match="wrap the model"):
        embed(CUBE, POOL)
    dense = encoder(torch.nn.Identity(), bands=["red"])
    with pytest.raises(ParameterError, match="dense maps"):
        embed(CUBE, dense, patch=8)
    with pytest.raises(ParameterError, match="3 values for 2 bands"):
        encoder(POOL, bands=["red", "nir"], mean=[1, 2, 3])


def test_encoder_protocol() -> None:
    enc = _pooling_encoder()
    assert enc.eoxr_model is POOL
    assert enc.eoxr_preprocess == {
        "bands": ["nir", "green", "blue"],
        "mean": MEAN,
        "std": STD,
        "scale": 10000.0,
    }
    pre = enc.preprocess(CUBE.isel(time=0))
    assert list(pre.band.values) == ["B08", "B03", "B02"]
    want = (CUBE.isel(time=0).sel(band="B03").values * 10000 - 900) / 400
    np.testing.assert_allclose(pre.sel(band="B03").values, want, rtol=1e-5)


def _onnx_mean_pool(path, channels: int = 3):
    """An ONNX model that averages each band over the patch: (N, C, H, W) -> (N, C)."""
    onnx = require("onnx", extra="test")
    require("onnxruntime", extra="onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["p"]),
            helper.make_node("Flatten", ["p"], ["y"], axis=1),
        ],
        "mean_pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", channels, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", channels])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_onnx_encoder_path_and_session(tmp_path) -> None:
    """embed runs an ONNX file or session like a torch module: the same block means, lazily."""
    import onnxruntime as ort

    path = _onnx_mean_pool(tmp_path / "pool.onnx")
    want = _block_means(CUBE, ["B08", "B03", "B02"], 8, 4)
    by_path = encoder(str(path), bands=["nir", "green", "blue"], mean=MEAN, std=STD, scale=10000)
    np.testing.assert_allclose(embed(CUBE, by_path, patch=8, stride=4).values, want, rtol=1e-5)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    by_session = encoder(sess, bands=["nir", "green", "blue"], mean=MEAN, std=STD, scale=10000)
    with et.raise_if_dask_computes():
        lazy = embed(CUBE.chunk({"y": 13, "x": 17, "time": 1}), by_session, patch=8, stride=4)
    np.testing.assert_allclose(lazy.values, want, rtol=1e-5, atol=1e-5)


def test_dn_into_an_encoder_with_reflectance_constants() -> None:
    # Before: Sentinel-2 DN (uint16, or float with units="DN") went straight into an encoder
    # whose mean/std are in reflectance x 10000: every input was 10000 times too large.
    from eoxr.errors import UnitsError

    refl = CUBE.isel(time=0)
    dn = (refl * 10000).round().astype("uint16").assign_attrs(units="DN")
    dn = dn.drop_vars("time")  # an undated Sentinel-2 cube: no baseline offset to settle
    want = embed((dn.astype("float64") / 1e4).assign_attrs(units="1"), _pooling_encoder(), patch=8)
    for cube in (dn, dn.astype("float32")):
        got = embed(cube, _pooling_encoder(), patch=8)
        np.testing.assert_allclose(got.values, want.values, rtol=1e-5, atol=1e-5)
    # DN as floats without units: the encoder's constants say reflectance, the values say DN
    lazy = embed(dn.astype("float32").drop_attrs().chunk({"y": 20}), _pooling_encoder(), patch=8)
    with pytest.raises(UnitsError, match="values around"):
        lazy.compute()
    # an encoder fitted on DN (constants in DN, scale 1) fed reflectance: caught the other way
    dn_fitted = encoder(POOL, bands=["nir", "green", "blue"], mean=MEAN, std=STD)
    with pytest.raises(UnitsError, match="reflectance already"):
        embed(refl, dn_fitted, patch=8).compute()
    assert np.isfinite(embed(dn, dn_fitted, patch=8).values).all()
