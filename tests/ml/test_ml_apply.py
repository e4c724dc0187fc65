"""apply_model with torch: exactness against one whole-image pass, chunk invariance, errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.conftest import require

torch = require("torch", extra="ml")
from hypothesis import HealthCheck, given, settings  # noqa: E402

import eoxr.testing as et  # noqa: E402
from eoxr.errors import ParameterError  # noqa: E402
from eoxr.ml import ModelError, apply_model  # noqa: E402
from eoxr.testing.strategies import chunkings  # noqa: E402


def _fcn(c_in: int = 4, k: int = 3, seed: int = 0) -> torch.nn.Module:
    """Two 3x3 convs: receptive radius 2."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(c_in, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, k, 3, padding=1)
    ).eval()


def _whole_pass(net: torch.nn.Module, cube: xr.DataArray, pad: int = 8) -> np.ndarray:
    """Oracle: one forward pass over the whole reflect-padded (numpy 'symmetric') image."""
    a = cube.values
    widths = [(0, 0)] * (a.ndim - 2) + [(pad, pad), (pad, pad)]
    x = np.pad(a, widths, mode="symmetric").reshape(
        -1, *a.shape[-3:-2], a.shape[-2] + 2 * pad, a.shape[-1] + 2 * pad
    )
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()[..., pad:-pad, pad:-pad]
    return y.reshape(*a.shape[:-3], y.shape[1], *a.shape[-2:])


CUBE = et.make_cube(ny=45, nx=38, times=2)
NET = _fcn()
GEOM = {"input_dims": {"y": 16, "x": 20}, "input_overlap": {"y": 8, "x": 9}}


@pytest.mark.parametrize("blend,tol", [("crop", 1e-5), ("cosine", 1e-5)])
def test_equals_whole_image_pass(blend: str, tol: float) -> None:
    out = apply_model(CUBE, NET, **GEOM, blend=blend, batch_size=5)
    ref = _whole_pass(NET, CUBE)
    assert out.dims == ("time", "class", "y", "x") and out.dtype == np.float32
    np.testing.assert_allclose(out.values, ref, atol=tol)
    # "mean" blends edge-affected pixels too: close, but measurably not exact
    mean = apply_model(CUBE, NET, **GEOM, blend="mean").values
    assert 1e-4 < np.abs(mean - ref).max() < 0.5


def test_metadata_and_coords() -> None:
    out = apply_model(CUBE, NET, **GEOM, output_coords=["a", "b", "c"])
    assert out.rio.crs == CUBE.rio.crs
    np.testing.assert_array_equal(out.y, CUBE.y)
    np.testing.assert_array_equal(out.time, CUBE.time)
    assert list(out["class"].values) == ["a", "b", "c"]
    assert "apply_model" in out.attrs["history"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ch=chunkings({"y": 45, "x": 38}, min_size=3))
def test_chunk_invariant_property(ch: dict) -> None:
    ref = apply_model(CUBE, NET, **GEOM, blend="cosine").values
    with et.raise_if_dask_computes():
        lazy = apply_model(CUBE.chunk({**ch, "time": 1}), NET, **GEOM, blend="cosine")
    et.assert_lazy(lazy)
    assert lazy.chunks[-2:] == (ch["y"], ch["x"])
    np.testing.assert_allclose(lazy.values, ref, rtol=1e-6, atol=1e-7)


def test_chunk_invariant_crop_exact() -> None:
    # Patches are the same on every chunking; only the batch composition changes, and torch's
    # CPU convolutions round differently per batch size (~1e-8 here).
    et.assert_chunk_invariant(
        lambda c: apply_model(c, NET, **GEOM, blend="crop"), CUBE, rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("blend", ["cosine", "crop"])
def test_caller_chunks_kept_without_rechunk(blend: str) -> None:
    # Chunks of 20 and 19 are not multiples of the strides (8, 11): the padding joins the edge
    # blocks (a local merge) and each block reads as far into the next as its last patch
    # reaches, so no block is split across a new grid (which holds rows of blocks in memory).
    ref = apply_model(CUBE, NET, **GEOM, blend=blend).values
    lazy = apply_model(CUBE.chunk({"y": 20, "x": 19, "time": 1}), NET, **GEOM, blend=blend)
    layers = list(lazy.data.__dask_graph__().layers)
    assert not [n for n in layers if str(n).startswith("rechunk-split")], layers
    assert lazy.chunks[-2:] == ((20, 20, 5), (19, 19))
    np.testing.assert_allclose(lazy.values, ref, rtol=1e-6, atol=1e-7)


def test_nan_in_nan_out_and_skipped_patches() -> None:
    cube = CUBE.copy(data=CUBE.values.copy())
    cube[0, 1, 5, 7] = np.nan  # one band of one pixel
    cube[1, :, :20, :25] = np.nan  # an area bigger than a patch: whole patches skipped
    calls = []
    net = _fcn()
    net.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    out = apply_model(cube, net, **GEOM, blend="crop", batch_size=64)
    assert np.isnan(out[0, :, 5, 7]).all() and np.isfinite(out[0, :, 5, 8]).all()
    assert np.isnan(out[1, :, :20, :25]).all() and np.isfinite(out[1, :, 25:, 30:]).all()
    # grid: 2 times x ceil(45/8) x ceil(38/11) = 48 patches; rows [-4,12) and [4,20) x cols
    # [-4,16) of time 1 are all NaN (reflect padding included): 2 patches not run (+2 in the
    # probe batch)
    assert sum(calls) == 2 + 48 - 2


def test_band_selection_and_normalize() -> None:
    net = _fcn(c_in=2)
    out = apply_model(
        CUBE, net, **GEOM, bands=["nir", "red"], mean=[0.3, 0.3], std=[0.2, 0.2], blend="crop"
    )
    sub = (CUBE.sel(band=["B08", "B04"]) - 0.3) / 0.2
    np.testing.assert_allclose(out.values, _whole_pass(net, sub), atol=1e-5)
    net.eoxr_meta = {"bands": ["B08", "B04"], "mean": [0.3, 0.3], "std": [0.2, 0.2]}
    np.testing.assert_allclose(apply_model(CUBE, net, **GEOM, blend="crop").values, out.values)


def test_patch_level_model_coords() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(4, 5, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    ).eval()
    cube = CUBE.isel(time=0)
    out = apply_model(cube, net, input_dims={"y": 16, "x": 16}, input_overlap={"y": 4, "x": 4})
    assert out.dims == ("feature", "y", "x") and out.shape == (5, 4, 3)  # ceil((45-4)/12), ...
    # first patch covers rows 0..15: centre at row 7.5
    assert out.y.values[0] == pytest.approx(cube.y.values[0] + 7.5 * (cube.y[1] - cube.y[0]))
    assert out.x.values[1] == pytest.approx(cube.x.values[0] + (12 + 7.5) * 10.0)
    with torch.no_grad():
        first = net(torch.from_numpy(cube.values[None, :, 12:28, 12:28])).numpy()[0]
    np.testing.assert_allclose(out[:, 1, 1].values, first, rtol=1e-5)
    geom = {"input_dims": {"y": 16, "x": 16}, "input_overlap": {"y": 4, "x": 4}}
    lazy = apply_model(cube.chunk({"y": 14, "x": 25}), net, **geom)
    np.testing.assert_allclose(lazy.values, out.values, rtol=1e-6)


def test_errors() -> None:
    with pytest.raises(ParameterError, match="expects 3 input channels.*gives 4 bands"):
        apply_model(CUBE, _fcn(c_in=3), **GEOM)
    with pytest.raises(ParameterError, match="larger than the image"):
        apply_model(CUBE, NET, input_dims={"y": 64, "x": 16})
    with pytest.raises(ParameterError, match="less than the patch size"):
        apply_model(CUBE, NET, input_dims={"y": 16, "x": 16}, input_overlap={"y": 16, "x": 0})


class _Fails(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x[:, 0] > 50).any():
            raise RuntimeError("boom")
        return self.conv(x)


def test_model_error_names_patch_location() -> None:
    cube = CUBE.isel(time=0).copy(deep=True)
    cube[0, 40, 30] = 99.0  # only the patch(es) covering row 40, col 30 fail
    lazy = apply_model(
        cube.chunk({"y": 20, "x": 19}),
        _Fails(),
        input_dims={"y": 16, "x": 16},
        input_overlap={"y": 4, "x": 4},
        blend="crop",
    )
    with pytest.raises(ModelError, match=r"boom.*rows \[34, 50\), cols \[22, 38\)"):
        lazy.compute()


def test_device_and_dataset_input() -> None:
    ds = CUBE.isel(time=0).eo.to_dataset()
    out = ds.eo.apply_model(NET, **GEOM, device="cpu", blend="crop")
    ref = apply_model(CUBE.isel(time=0), NET, **GEOM, blend="crop")
    np.testing.assert_allclose(out.values, ref.values)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_model() -> None:
    scripted = torch.jit.script(NET)
    out = apply_model(CUBE, scripted, **GEOM, blend="crop")
    np.testing.assert_allclose(out.values, _whole_pass(NET, CUBE), atol=1e-5)


def test_model_is_one_graph_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model is prepared (and would be shipped) once per compute, not once per task."""
    from eoxr.models import torch_runner as _torch

    calls = []
    real = _torch.prepare_model

    def counting(model, device):
        calls.append(device)
        return real(model, device)

    monkeypatch.setattr(_torch, "prepare_model", counting)
    lazy = apply_model(CUBE.chunk({"y": 10, "x": 10, "time": 1}), NET, **GEOM)
    assert len(calls) == 1  # the probe at graph-build time
    assert lazy.data.npartitions > 10
    lazy.compute()
    assert len(calls) == 2


def test_device_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from eoxr.models import torch_runner as _torch

    assert _torch.pick_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _torch.pick_device(None).type == "cuda"
    assert _torch.pick_device("cpu").type == "cpu"
    trained = _fcn().train()
    ready = _torch.prepare_model(trained, "cpu")
    assert not ready.training and trained.training  # the caller's model is left as it was


def test_autocast_bfloat16_close() -> None:
    out = apply_model(CUBE.isel(time=0), NET, **GEOM, blend="crop", autocast=True)
    assert out.dtype == np.float32
    ref = _whole_pass(NET, CUBE.isel(time=0))
    np.testing.assert_allclose(out.values, ref, atol=0.02)  # bfloat16 has 8 mantissa bits


def test_input_left_untouched_and_inf_is_data() -> None:
    """The kernels skip copies of NaN-free input: they must never write into the caller's cube."""
    from eoxr.ml._kernels import prepare_block

    cube = CUBE.isel(time=0).copy(deep=True)
    cube[2, 3, 4] = np.nan
    before = cube.values.copy()
    for norm in ({}, {"mean": [0.1] * 4, "std": [0.2] * 4}):
        out = apply_model(cube, NET, **GEOM, blend="cosine", **norm)
        assert np.isnan(out[:, 3, 4]).all() and int(out.isnull().sum()) == 3
        np.testing.assert_array_equal(cube.values, before)  # NaN positions included
    block = before[None].copy()
    block[0, 1, 0, 0] = np.inf
    x, valid = prepare_block(block, None, None)
    assert x[0, 1, 0, 0] == np.inf and x[0, 2, 3, 4] == 0.0  # only NaN is nodata
    assert valid is not None and valid.sum() == valid.size - 1 and not valid[0, 3, 4]
    clean = np.ones((1, 4, 5, 5), np.float32)
    x, valid = prepare_block(clean, None, None)
    assert valid is None and np.shares_memory(x, clean)  # NaN-free, raw: no copy, no mask


@pytest.mark.parametrize("blend", ["cosine", "mean"])
def test_interior_skip_is_bit_identical(blend: str) -> None:
    from eoxr.ml._geometry import make_tiling, window_1d
    from eoxr.ml._kernels import interior, weigh

    ty, tx = make_tiling("y", 100, 40, 12, dense=True), make_tiling("x", 100, 32, 6, dense=True)
    wy, wx = window_1d(ty, blend), window_1d(tx, blend)
    w2 = wy[:, None] * wx[None, :]
    pred = np.random.default_rng(0).standard_normal((3, 2, 40, 32)).astype(np.float32)
    want = pred * w2
    weigh(pred, w2, interior(wy), interior(wx))
    np.testing.assert_array_equal(pred, want)
    assert interior(np.array([0, 1, 0], np.float32)) == (1, 2)
    assert interior(np.array([1, 0.5, 1], np.float32)) == (0, 0)  # not one run: no skip


def test_model_with_expanded_output() -> None:
    """A model may return a stride-0 (expanded) tensor; weighing it in place must not alias."""

    class Const(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ones(1, 2, 1, 1).expand(x.shape[0], 2, *x.shape[2:])

    out = apply_model(CUBE.isel(time=0), Const(), **GEOM, blend="cosine")
    np.testing.assert_allclose(out.values, 1.0, rtol=1e-6)


def test_time_dim_kept_in_input_order() -> None:
    """Each time step is run as its own image; dims keep the input's order."""
    out = apply_model(CUBE, NET, **GEOM, blend="cosine")
    for t in range(CUBE.sizes["time"]):
        one = apply_model(CUBE.isel(time=t), NET, **GEOM, blend="cosine")
        np.testing.assert_array_equal(out.isel(time=t).values, one.values)
    last = apply_model(CUBE.transpose("band", "y", "x", "time"), NET, **GEOM, blend="cosine")
    assert last.dims == ("class", "y", "x", "time")
    np.testing.assert_array_equal(last.transpose(*out.dims).values, out.values)


def test_default_overlap_leaves_no_seams() -> None:
    """Overlap 0 leaves seams at patch borders (zero padding inside the net); the default
    overlap, 4 x the measured receptive radius, leaves none.
    """
    cube = CUBE.isel(time=0)
    ref = _whole_pass(NET, cube)
    size = {"y": 16, "x": 20}
    seams = np.abs(
        apply_model(cube, NET, input_dims=size, input_overlap={"y": 0, "x": 0}).values - ref
    ).max()
    out = apply_model(cube, NET, input_dims=size)
    assert "overlap=(8, 8)" in out.attrs["history"]  # radius 2 (two 3x3 convs)
    # measured: 0.099 with overlap 0, 4.5e-8 (rounding) with the default
    assert seams > 0.05
    np.testing.assert_allclose(out.values, ref, atol=1e-5)
    wide = torch.nn.Sequential(NET, torch.nn.Conv2d(3, 3, 5, padding=2)).eval()  # radius 4
    out = apply_model(cube, wide, input_dims={"y": 32, "x": 32}, blend="crop")
    assert "overlap=(8, 8)" in out.attrs["history"]  # crop needs 2 x radius
    np.testing.assert_allclose(out.values, _whole_pass(wide, cube), atol=1e-5)


def test_default_overlap_rule() -> None:
    from eoxr.ml.apply import default_overlap

    assert default_overlap(256, 2, "cosine") == 8 and default_overlap(256, 3, "crop") == 6
    assert default_overlap(256, 100, "cosine") == 128  # at most half the patch
    assert default_overlap(256, 128, "mean") == 64  # sees the whole patch: a quarter
    assert default_overlap(256, None, "cosine") == 0  # per-patch models
    assert default_overlap(256, 0, "cosine") == 0  # pixel-wise models need none
    pixelwise = torch.nn.Conv2d(4, 2, 1).eval()
    assert (
        "overlap=(0, 0)"
        in apply_model(CUBE, pixelwise, input_dims=GEOM["input_dims"]).attrs["history"]
    )


def test_runner_key_follows_the_weights_and_the_object():
    import torch

    from eoxr.models.torch_runner import runner_key

    model = torch.nn.Conv2d(2, 3, 3)
    key = runner_key(model, "cpu")
    assert runner_key(model, "cpu") == key  # same model, same graph key
    assert runner_key(model, "cpu", autocast=True) != key
    twin = torch.nn.Conv2d(2, 3, 3)
    twin.load_state_dict(model.state_dict())
    assert runner_key(twin, "cpu") != key  # another object never shares the prepared model
    with torch.no_grad():
        model.weight.add_(1.0)
    assert runner_key(model, "cpu") != key  # changed weights, new key
