"""Bad inputs to eoxr.ml: each case names the exception type and the phrase that says the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")
require("sklearn", extra="ml")
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

import eoxr.testing as et  # noqa: E402
from eoxr.errors import (  # noqa: E402
    BandNotFoundError,
    DimensionError,
    GridMismatchError,
    ParameterError,
    ReadError,
)
from eoxr.ml import apply_model, torch_dataset  # noqa: E402

CUBE = et.make_cube(ny=24, nx=20, times=None)
LABELS = (CUBE.sel(band="B08") > 0.3).astype("float32")
NET = torch.nn.Conv2d(4, 2, 3, padding=1).eval()
SIZE = {"y": 8, "x": 8}


def _one_by_one_onnx(path: Path, channels: int = 4) -> Path:
    """A 1x1 convolution, ``channels`` -> 2, as an ONNX file with a fixed channel count."""
    onnx = require("onnx", extra="test")
    require("onnxruntime", extra="onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2, channels, 1, 1), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"])],
        "one_by_one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", channels, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2, "h", "w"])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _tree() -> DecisionTreeClassifier:
    return CUBE.eo.fit(DecisionTreeClassifier(random_state=0), LABELS, progress=False)


def test_band_missing_against_fit() -> None:
    with pytest.raises(BandNotFoundError, match=r"'B08' not found.*fitted on bands"):
        apply_model(CUBE.isel(band=[0, 1, 2]), _tree())


def test_reordered_bands_against_fit_are_matched_not_an_error() -> None:
    tree = _tree()
    np.testing.assert_array_equal(
        apply_model(CUBE.isel(band=[3, 2, 1, 0]), tree).values, apply_model(CUBE, tree).values
    )


def test_shifted_label_grid() -> None:
    shifted = LABELS.assign_coords(x=LABELS.x + 5000.0)
    with pytest.raises(GridMismatchError, match="not on the cube's grid.*reproject_match"):
        CUBE.eo.fit(DecisionTreeClassifier(), shifted)


def test_label_raster_with_extra_dim() -> None:
    stacked = LABELS.expand_dims(time=2)
    with pytest.raises(DimensionError, match="one label per pixel"):
        CUBE.eo.fit(DecisionTreeClassifier(), stacked)


def test_mean_std_of_wrong_length() -> None:
    with pytest.raises(ParameterError, match="mean has 3 values but the model gets 4 bands"):
        apply_model(CUBE, NET, input_dims=SIZE, mean=[0.1, 0.2, 0.3])
    with pytest.raises(ParameterError, match="std has 2 values.*one std per band"):
        apply_model(CUBE, NET, input_dims=SIZE, mean=0.1, std=[1.0, 2.0])


def test_non_positive_std() -> None:
    with pytest.raises(ParameterError, match="std must be finite and positive"):
        apply_model(CUBE, NET, input_dims=SIZE, std=[1.0, 0.0, 1.0, 1.0])


def test_normalisation_of_wrong_length_for_training() -> None:
    with pytest.raises(ParameterError, match="mean has 2 values but the model gets 4 bands"):
        torch_dataset(CUBE, input_dims=SIZE, mean=[0.1, 0.2], std=1.0)


def test_onnx_file_missing(tmp_path: Path) -> None:
    require("onnxruntime", extra="onnx")
    with pytest.raises(ReadError, match="does not exist"):
        apply_model(CUBE, tmp_path / "nope.onnx", input_dims=SIZE)


def test_onnx_file_not_a_model(tmp_path: Path) -> None:
    require("onnxruntime", extra="onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_text("hello")
    with pytest.raises(ReadError, match="cannot load the ONNX model"):
        apply_model(CUBE, junk, input_dims=SIZE)


def test_onnx_input_channel_mismatch(tmp_path: Path) -> None:
    path = _one_by_one_onnx(tmp_path / "c3.onnx", channels=3)
    with pytest.raises(ParameterError, match="expects 3 input channels but the cube gives 4"):
        apply_model(CUBE, path, input_dims=SIZE)
    # the fix the message names works
    assert (
        apply_model(CUBE, path, input_dims=SIZE, bands=["red", "green", "blue"]).sizes["class"] == 2
    )


def test_patch_larger_than_cube() -> None:
    with pytest.raises(ParameterError, match="larger than the image"):
        apply_model(CUBE, NET, input_dims={"y": 64, "x": 8})
    with pytest.raises(ParameterError, match="larger than the image"):
        CUBE.eo.batches({"y": 8, "x": 64})


def test_overlap_not_less_than_patch() -> None:
    with pytest.raises(ParameterError, match="less than the patch size"):
        apply_model(CUBE, NET, input_dims=SIZE, input_overlap={"y": 8, "x": 0})
    with pytest.raises(ParameterError, match="less than the patch size"):
        CUBE.eo.batches(SIZE, input_overlap={"y": 8})


def test_unknown_blend() -> None:
    with pytest.raises(ParameterError, match="expected 'cosine', 'mean' or 'crop'"):
        apply_model(CUBE, NET, input_dims=SIZE, blend="gauss")


def test_band_not_in_cube() -> None:
    with pytest.raises(BandNotFoundError, match="'swir16' not found"):
        apply_model(CUBE, NET, input_dims=SIZE, bands=["red", "swir16"])


def test_unsupported_model_type() -> None:
    with pytest.raises(ParameterError, match="is none of"):
        apply_model(CUBE, {"weights": [1, 2]}, input_dims=SIZE)


def test_preprocessing_options_with_an_estimator() -> None:
    with pytest.raises(ParameterError, match="Pipeline"):
        apply_model(CUBE, _tree(), mean=0.2)
