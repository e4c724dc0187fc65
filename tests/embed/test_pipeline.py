"""Encoder preprocessing pipelines: resizing to the model's size, normalization kinds, order.

Every step is checked against a reference written here (torch's ``interpolate`` for resizing,
textbook loops with ``np.percentile`` for stretches, slicing for crops).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")

import eoxr.testing as et  # noqa: E402
from eoxr.embed import SPECS, embed, encoder  # noqa: E402
from eoxr.errors import BandNotFoundError, ParameterError  # noqa: E402
from eoxr.models.pipeline import Pipeline, resize  # noqa: E402

F = torch.nn.functional
BANDS = ("B02", "B03", "B04", "B08")
CUBE = et.make_cube(bands=BANDS, ny=48, nx=40, times=2, seed=3)
MEAN, STD = [900.0, 700.0, 2500.0], [400.0, 300.0, 800.0]
READ = ["green", "blue", "nir"]


def _net(channels: int = 3, seed: int = 0) -> torch.nn.Module:
    """A small per-patch model that sees the spatial layout (strided conv, then pooling)."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(channels, 6, 5, stride=3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
    ).eval()


def _patches(cube, bands, p: int) -> tuple[np.ndarray, int, int]:
    """Oracle patch cutting: (time, ny, nx, C, p, p) float64 of whole patches, stride p."""
    x = cube.sel(band=bands).values.astype(np.float64)
    ny, nx = x.shape[-2] // p, x.shape[-1] // p
    out = np.empty((x.shape[0], ny, nx, len(bands), p, p))
    for i in range(ny):
        for j in range(nx):
            out[:, i, j] = x[..., i * p : (i + 1) * p, j * p : (j + 1) * p]
    return out, ny, nx


def _oracle(cube, net, p: int, size: int, mode: str = "bilinear", aa: bool = False):
    """Textbook: standardize each patch, NaN -> 0, F.interpolate to size, then the model."""
    x, ny, nx = _patches(cube, ["B03", "B02", "B08"], p)
    m, s = np.array(MEAN)[:, None, None], np.array(STD)[:, None, None]
    x = (x * 10000 - m) / s
    valid = ~np.isnan(x).all(axis=(-3, -2, -1))
    x = np.nan_to_num(x, nan=0.0).astype(np.float32).reshape(-1, 3, p, p)
    t = F.interpolate(torch.from_numpy(x), size=(size, size), mode=mode, align_corners=False,
                      antialias=aa)  # fmt: skip
    with torch.inference_mode():
        y = net(t).numpy().reshape(*valid.shape, -1)
    y = np.where(valid[..., None], y, np.nan)
    return np.moveaxis(y, -1, 1)  # (time, feature, ny, nx)


@pytest.mark.parametrize("n_in,n_out", [(32, 224), (32, 256), (256, 224), (17, 5), (7, 21)])
@pytest.mark.parametrize("mode,aa", [("bilinear", False), ("bilinear", True), ("bicubic", False),
                                     ("bicubic", True), ("nearest", False)])  # fmt: skip
def test_resize_equals_torch_interpolate(n_in: int, n_out: int, mode: str, aa: bool) -> None:
    x = np.random.default_rng(n_in).normal(size=(3, 4, n_in, n_in)).astype(np.float32)
    want = F.interpolate(torch.from_numpy(x), size=(n_out, n_out), mode=mode,
                         **({} if mode == "nearest" else {"align_corners": False,
                                                          "antialias": aa}))  # fmt: skip
    got = resize(x, n_out, mode, aa)
    assert got.shape == (3, 4, n_out, n_out) and got.dtype == np.float32
    np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=2e-5)


@pytest.mark.parametrize("aa", [False, True])
def test_embed_32px_at_224_equals_interpolate_then_model(aa: bool) -> None:
    """embed(patch=16) with input_size=112: each standardized patch resized, then the model."""
    net = _net()
    enc = encoder(net, bands=READ, mean=MEAN, std=STD, scale=10000, input_size=112, antialias=aa)
    got = embed(CUBE, enc, patch=16)
    want = _oracle(CUBE, net, 16, 112, aa=aa)
    assert got.dims == ("time", "feature", "y", "x") and got.dtype == np.float32
    np.testing.assert_allclose(got.values, want, rtol=1e-4, atol=1e-5)
    # coordinates: the centres of the 16 px patches, as without resizing
    plain = embed(CUBE, encoder(net, bands=READ, mean=MEAN, std=STD, scale=10000), patch=16)
    np.testing.assert_array_equal(got.y, plain.y)
    np.testing.assert_array_equal(got.x, plain.x)
    assert "model input 112 px" in got.attrs["history"]
    assert '"op": "resize"' in got.attrs["encoder_pipeline"]


def test_resized_embedding_is_lazy_and_chunk_invariant() -> None:
    enc = encoder(_net(), bands=READ, mean=MEAN, std=STD, scale=10000, input_size=64)
    want = embed(CUBE, enc, patch=16)
    with et.raise_if_dask_computes():
        lazy = embed(CUBE.chunk({"y": 20, "x": 13, "time": 1}), enc, patch=16)
    np.testing.assert_allclose(lazy.values, want.values, rtol=1e-5, atol=1e-6)
    et.assert_chunk_invariant(
        lambda c: embed(c, enc, patch=16), CUBE, chunkings=[{"y": 16}, {"x": 24, "y": 32}]
    )


def test_nan_pixels_are_filled_after_normalization_before_resizing() -> None:
    cube = CUBE.copy(deep=True)
    cube[0, :, 3:9, 5:12] = np.nan  # part of a patch
    cube[1, :, 16:32, 16:32] = np.nan  # one whole patch
    net = _net()
    enc = encoder(net, bands=READ, mean=MEAN, std=STD, scale=10000, input_size=48)
    got = embed(cube, enc, patch=16)
    want = _oracle(cube, net, 16, 48)
    assert np.isnan(got.values[1, :, 1, 1]).all() and np.isfinite(got.values[0]).all()
    np.testing.assert_allclose(got.values, want, rtol=1e-4, atol=1e-5)


def test_onnx_encoder_resizes_before_the_session(tmp_path) -> None:
    """The ONNX path resizes in numpy (the same numbers) before onnxruntime runs."""
    from tests.embed.test_embed_patches import _onnx_mean_pool

    path = _onnx_mean_pool(tmp_path / "pool.onnx")
    pool = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    enc = encoder(str(path), bands=READ, mean=MEAN, std=STD, scale=10000, input_size=40,
                  resize="bicubic")  # fmt: skip
    got = embed(CUBE.chunk({"y": 24}), enc, patch=16)
    np.testing.assert_allclose(got.values, _oracle(CUBE, pool, 16, 40, "bicubic"), atol=1e-5)


def test_apply_model_runs_an_encoders_pipeline() -> None:
    """The encoder protocol hands the pipeline to apply_model as its transform."""
    net = _net()
    enc = encoder(net, bands=READ, mean=MEAN, std=STD, scale=10000, input_size=64)
    got = CUBE.eo.apply_model(enc, input_dims={"y": 16, "x": 16})
    # the third column of patches reaches into apply_model's reflect padding (40 = 2.5 x 16)
    want = _oracle(CUBE, net, 16, 64)
    np.testing.assert_allclose(got.values[..., :2], want, rtol=1e-4, atol=1e-5)


# -- normalization kinds, clip, pad, crop: textbook implementations on one batch -------------


def _batch(seed: int = 0, nan: bool = True) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(0.0, 0.6, size=(5, 3, 12, 12)).astype(np.float32)
    if nan:
        x[0, 1, :4, :5] = np.nan
        x[2, :, 6:, 6:] = np.nan
    return x


def test_divide_and_clip() -> None:
    x = _batch()
    steps = [{"op": "scale", "by": 10000}, {"op": "divide", "by": 3000, "min": 0, "max": 1}]
    got = Pipeline.build(["B02", "B03", "B04"], steps)(x)
    want = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        v = x[idx] * 10000 / 3000
        want[idx] = 0.0 if np.isnan(v) else min(max(v, 0.0), 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert (got == 1.0).any() and (got < 1.0).any()


@pytest.mark.parametrize("lower,upper", [(2, 98), (0, 100), (10, 60)])
def test_percentile_stretch_per_patch_and_band(lower: float, upper: float) -> None:
    x = _batch(1)
    got = Pipeline.build(["B02", "B03", "B04"], [{"op": "stretch", "lower": lower,
                                                   "upper": upper}])(x)  # fmt: skip
    want = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            band = x[n, c]
            ok = ~np.isnan(band)
            lo, hi = np.percentile(band[ok].astype(np.float64), [lower, upper])
            for i, j in zip(*np.nonzero(ok)):
                want[n, c, i, j] = min(max((band[i, j] - lo) / (hi - lo), 0.0), 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got.min() == 0.0 and got.max() == 1.0


def test_minmax_encoder_and_constant_band() -> None:
    x = _batch(2, nan=False)
    x[1, 2] = 0.25  # constant over the patch: 0, not NaN
    enc = encoder(torch.nn.Identity(), bands=["B02", "B03", "B04"], normalize="minmax")
    got = enc.pipeline(x)
    lo = x.min(axis=(2, 3), keepdims=True)
    hi = x.max(axis=(2, 3), keepdims=True)
    want = np.where(hi > lo, (x - lo) / np.where(hi > lo, hi - lo, 1), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_clip_before_standardize_pad_and_crop() -> None:
    """pad B10 -> scale -> clip -> standardize -> resize 16 -> crop 10, against slicing."""
    x = _batch(3)
    bands = ["B02", "B10", "B03", "B04"]
    mean, std = [1000.0, 20.0, 900.0, 800.0], [500.0, 50.0, 400.0, 300.0]
    enc = encoder(torch.nn.Identity(), bands=bands, mean=mean, std=std, scale=10000,
                  clip=(0, 4000), pad={"B10": 0.0}, input_size=16, crop=10)  # fmt: skip
    assert enc.pipeline.read_bands == ("B02", "B03", "B04")
    got = enc.pipeline(x)
    full = np.insert(x, 1, 0.0, axis=1).astype(np.float64)  # B10: reflectance 0
    full = (np.clip(full * 10000, 0, 4000) - np.array(mean)[:, None, None]) / np.array(std)[
        :, None, None
    ]
    full = np.nan_to_num(full, nan=0.0).astype(np.float32)
    big = F.interpolate(torch.from_numpy(full), size=(16, 16), mode="bilinear",
                        align_corners=False).numpy()  # fmt: skip
    top = int(round((16 - 10) / 2.0))
    np.testing.assert_allclose(got, big[..., top : top + 10, top : top + 10], atol=1e-5)
    np.testing.assert_allclose(got[:, 1], (0 - 20.0) / 50.0, rtol=1e-6)


def test_padded_band_is_not_read_from_the_cube() -> None:
    pool = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    bands = ["B02", "B10", "B03"]
    enc = encoder(pool, bands=bands, mean=[900, 20, 700], std=[400, 50, 300], scale=10000,
                  pad={"B10": 0.0})  # fmt: skip
    got = embed(CUBE, enc, patch=8)
    assert got.sizes["feature"] == 3
    np.testing.assert_allclose(got.values[:, 1], -0.4, rtol=1e-6)
    blue = (CUBE.sel(band="B02").values[:, :8, :8].astype(np.float64) * 10000 - 900) / 400
    np.testing.assert_allclose(got.values[:, 0, 0, 0], blue.mean(axis=(1, 2)), rtol=1e-5)
    with pytest.raises(BandNotFoundError):
        embed(CUBE, encoder(pool, bands=bands, mean=0, std=1), patch=8)


def test_explicit_steps_give_the_encoders_constants() -> None:
    steps = [{"op": "scale", "by": 10000}, {"op": "divide", "by": 3000, "min": 0, "max": 1},
             {"op": "resize", "size": 24}]  # fmt: skip
    enc = encoder(torch.nn.Identity(), bands=["red"], steps=steps)
    assert enc.scale == 10000 and enc.std == (3000.0,) and enc.mean == (0.0,)
    assert enc.pipeline(np.zeros((1, 1, 8, 8), np.float32)).shape == (1, 1, 24, 24)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"steps": [{"op": "resize", "size": 64}, {"op": "scale", "by": 2}]}, "in the order"),
        ({"steps": [{"op": "spin"}]}, "'op' one of"),
        ({"input_size": 0}, "positive integer"),
        ({"input_size": 64, "resize": "lanczos"}, "resize mode"),
        ({"resize": "bicubic"}, "apply with input_size"),
        ({"normalize": "zscore"}, "normalize="),
        ({"normalize": {"op": "stretch", "lower": 60, "upper": 40}}, "percentiles"),
        ({"pad": {"B10": 0.0}}, "name bands of the encoder"),
        ({"clip": 5}, r"give \(min, max\)"),
        ({"steps": [{"op": "scale", "by": 2}], "input_size": 64}, "whole pipeline"),
    ],
)
def test_bad_pipelines_say_what_to_pass(kw: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        encoder(torch.nn.Identity(), bands=["red", "nir"], **kw)


def test_crop_larger_than_the_patch() -> None:
    enc = encoder(_net(2), bands=["red", "nir"], crop=24)
    with pytest.raises(ParameterError, match="crop size 24 is larger"):
        embed(CUBE, enc, patch=16)


def test_dense_model_with_a_resize_is_refused() -> None:
    enc = encoder(torch.nn.Conv2d(2, 2, 1).eval(), bands=["red", "nir"], input_size=32)
    with pytest.raises(ParameterError, match="one vector per patch"):
        CUBE.eo.apply_model(enc, input_dims={"y": 16, "x": 16})


# -- published specs ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_spec_states_its_sizing(name: str) -> None:
    spec = SPECS[name]
    assert spec.pipeline and spec.pipeline_source
    bands = list(spec.bands)
    pipe = Pipeline.build(bands, spec.steps) if spec.scale is not None else None
    sized = [s for s in spec.pipeline if s["op"] in ("resize", "crop")]
    assert sized, f"{name}: no documented input size"
    if pipe is not None:
        big = max(s["size"] for s in sized)
        x = np.zeros((1, len(bands), big, big), np.float32)
        assert pipe(x).shape[-1] == spec.input_size


def test_ssl4eo_spec_embeds_32px_patches_as_torchgeo_transforms_them() -> None:
    """Resize(256) + CenterCrop(224) of torchgeo's SSL4EO-S12 transforms, then the network."""
    cube = et.make_cube(bands=SPECS["ssl4eo-s12-s1"].bands, ny=32, nx=64, times=None, seed=1)
    cube = (10 * np.log10(cube + 0.01)).assign_attrs(units="dB")
    enc = encoder("ssl4eo-s12-s1", random=True, seed=0, patch=32)
    got = embed(cube, enc)
    x, _, _ = _patches(cube.expand_dims("time"), ["VV", "VH"], 32)
    x = (x.reshape(-1, 2, 32, 32) - np.array([-12.59, -20.26])[:, None, None]) / np.array(
        [5.26, 5.91]
    )[:, None, None]
    t = F.interpolate(torch.from_numpy(x.astype(np.float32)), size=(256, 256), mode="bilinear",
                      align_corners=False)[..., 16:240, 16:240]  # fmt: skip
    with torch.inference_mode():
        want = enc.model(t).numpy()
    np.testing.assert_allclose(got.values[:, 0, :].T, want, rtol=1e-3, atol=1e-4)
