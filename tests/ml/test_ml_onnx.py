"""apply_model with ONNX models and the preprocessing options (bands by name, scale, mean, std)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.conftest import require

torch = require("torch", extra="ml")
ort = require("onnxruntime", extra="onnx")
onnx = require("onnx", extra="test")

import eoxr.testing as et  # noqa: E402
from eoxr.errors import BandNotFoundError, ParameterError, ReadError  # noqa: E402
from eoxr.ml import apply_model  # noqa: E402
from eoxr.models import onnx_runner  # noqa: E402

CUBE = et.make_cube(ny=45, nx=38, times=2)
GEOM = {"input_dims": {"y": 16, "x": 20}, "input_overlap": {"y": 8, "x": 8}}


def _fcn(c_in: int = 4, k: int = 3, seed: int = 0) -> torch.nn.Sequential:
    """Two 3x3 convs: receptive radius 2."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(c_in, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, k, 3, padding=1)
    ).eval()


def to_onnx(net: torch.nn.Sequential, path: Path, shape: tuple = ("n", None, "h", "w")) -> Path:
    """Write a Sequential of Conv2d / ReLU as an ONNX graph (onnx.helper: no exporter needed).

    ``shape`` is the input shape; ``None`` stands for the net's input channels.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, src = [], [], "x"
    for i, m in enumerate(net):
        dst = f"t{i}"
        if isinstance(m, torch.nn.Conv2d):
            w, b = (
                numpy_helper.from_array(p.detach().numpy(), f"{n}{i}")
                for n, p in (("w", m.weight), ("b", m.bias))
            )
            inits += [w, b]
            p = m.padding[0]
            nodes.append(
                helper.make_node(
                    "Conv",
                    [src, w.name, b.name],
                    [dst],
                    kernel_shape=list(m.kernel_size),
                    pads=[p, p, p, p],
                )
            )
        else:
            nodes.append(helper.make_node("Relu", [src], [dst]))
        src = dst
    c_in, k = net[0].in_channels, net[-1].out_channels
    shape = tuple(c_in if s is None else s for s in shape)
    graph = helper.make_graph(
        nodes,
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(src, TensorProto.FLOAT, [shape[0], k, shape[2], shape[3]])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def net_and_path(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    net = _fcn()
    return net, to_onnx(net, tmp_path_factory.mktemp("onnx") / "fcn.onnx")


def test_onnx_path_and_session_equal_torch(net_and_path: tuple) -> None:
    net, path = net_and_path
    ref = apply_model(CUBE, net, **GEOM)
    out = apply_model(CUBE, path, **GEOM)
    assert out.dims == ref.dims == ("time", "class", "y", "x") and out.dtype == np.float32
    np.testing.assert_allclose(out.values, ref.values, atol=1e-5)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(apply_model(CUBE, session, **GEOM).values, ref.values, atol=1e-5)
    from_bytes = ort.InferenceSession(path.read_bytes(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(apply_model(CUBE, from_bytes, **GEOM).values, ref.values, atol=1e-5)
    assert "onnx" in out.attrs["history"]


def test_onnx_lazy_and_chunk_invariant(net_and_path: tuple) -> None:
    _, path = net_and_path
    with et.raise_if_dask_computes():
        lazy = apply_model(CUBE.chunk({"y": 13, "x": 17, "time": 1}), str(path), **GEOM)
    et.assert_lazy(lazy)
    ref = apply_model(CUBE, path, **GEOM).values
    np.testing.assert_allclose(lazy.compute(scheduler="threads").values, ref, atol=1e-6)
    et.assert_chunk_invariant(lambda c: apply_model(c, path, **GEOM), CUBE, rtol=1e-5, atol=1e-6)


def test_onnx_on_process_workers(net_and_path: tuple) -> None:
    """Sessions are never pickled: each worker process opens its own, once."""
    distributed = require("distributed", extra="distributed")
    net, path = net_and_path
    ref = apply_model(CUBE, net, **GEOM).values
    from_bytes = ort.InferenceSession(path.read_bytes(), providers=["CPUExecutionProvider"])
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for model in (path, from_bytes):
            lazy = apply_model(CUBE.chunk({"y": 16, "x": 20, "time": 1}), model, **GEOM)
            np.testing.assert_allclose(lazy.compute().values, ref, atol=1e-5)
        opened = client.run(lambda: sorted(k[0][0] for k in onnx_runner._SESSIONS))
    # one session per model source per worker that ran tasks (path and bytes)
    assert any(v == ["bytes", "path"] for v in opened.values()), opened
    assert all(len(v) <= 2 for v in opened.values())


def test_fixed_size_and_fixed_batch(tmp_path: Path) -> None:
    net = _fcn()
    path = to_onnx(net, tmp_path / "fixed.onnx", shape=(1, None, 16, 16))
    cube = CUBE.isel(time=0)
    out = apply_model(cube, path, batch_size=5)  # patch size from the model, batch 1 at a time
    assert "input_dims=(16, 16)" in out.attrs["history"]
    ref = apply_model(cube, net, input_dims={"y": 16, "x": 16})
    np.testing.assert_allclose(out.values, ref.values, atol=1e-5)
    with pytest.raises(ParameterError, match="fixed 16 x 16 patches"):
        apply_model(cube, path, input_dims={"y": 20, "x": 20})


def test_preprocessing_bands_by_name_scale_mean_std(tmp_path: Path) -> None:
    net = _fcn(c_in=2, k=2)
    path = to_onnx(net, tmp_path / "two.onnx")
    dn = (CUBE.isel(time=0) * 1e4).astype("float32")  # digital numbers
    shuffled = dn.isel(band=[3, 1, 0, 2])  # B08, B03, B02, B04: positions mean nothing
    kw = dict(bands=["nir", "red"], scale=1e-4, mean=[0.3, 0.25], std=[0.2, 0.1])
    out = apply_model(shuffled, path, **GEOM, **kw)
    expected_input = dn.sel(band=["B08", "B04"]) * 1e-4 - xr.DataArray([0.3, 0.25], dims="band")
    expected_input = expected_input / xr.DataArray([0.2, 0.1], dims="band")
    ref = apply_model(expected_input.astype("float32"), net, **GEOM)
    np.testing.assert_allclose(out.values, ref.values, atol=1e-5)
    np.testing.assert_allclose(apply_model(dn, net, **GEOM, **kw).values, ref.values, atol=1e-5)
    with pytest.raises(BandNotFoundError, match="'swir16' not found"):
        apply_model(dn, path, **GEOM, bands=["nir", "swir16"])


class _Encoder:
    """Duck-typed encoder: the model and its preprocessing travel together."""

    def __init__(self, model: object) -> None:
        self.eoxr_model = model
        self.eoxr_preprocess = {
            "bands": ["B08", "B04"],
            "mean": [0.3, 0.25],
            "std": 0.2,
            "scale": 1e-4,
        }


def test_encoder_protocol(tmp_path: Path) -> None:
    net = _fcn(c_in=2, k=2)
    path = to_onnx(net, tmp_path / "enc.onnx")
    dn = (CUBE.isel(time=0) * 1e4).astype("float32")
    want = apply_model(dn, net, **GEOM, bands=["nir", "red"], mean=[0.3, 0.25], std=0.2, scale=1e-4)
    for model in (_Encoder(path), _Encoder(net)):
        np.testing.assert_allclose(apply_model(dn, model, **GEOM).values, want.values, atol=1e-5)
    # explicit keywords win over the encoder's defaults
    other = apply_model(dn, _Encoder(net), **GEOM, mean=0.0, std=1.0)
    assert np.abs(other.values - want.values).max() > 0.1


def test_onnx_errors(tmp_path: Path, net_and_path: tuple) -> None:
    _, path = net_and_path
    with pytest.raises(ReadError, match="does not exist"):
        apply_model(CUBE, tmp_path / "missing.onnx", **GEOM)
    with pytest.raises(ParameterError, match="expects 4 input channels but the cube gives 2"):
        apply_model(CUBE, path, **GEOM, bands=["red", "nir"])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ReadError, match="cannot load the ONNX model"):
        apply_model(CUBE, junk, **GEOM)
    with pytest.raises(ParameterError, match="mean has 3 values but the model gets 4 bands"):
        apply_model(CUBE, path, **GEOM, mean=[0.1, 0.2, 0.3])
