"""Bad inputs to eoxr.embed: each case names the exception type and the phrase that says the fix;
writers leave nothing behind.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")
gpd = require("geopandas", extra="ml")
require("pyarrow", extra="embed")

import eoxr.testing as et  # noqa: E402
from eoxr.embed import embed, encoder, kmeans, read_geoparquet, similarity, to_geoparquet  # noqa: E402
from eoxr.errors import (  # noqa: E402
    BandNotFoundError,
    DataTypeError,
    DimensionError,
    ModelError,
    ParameterError,
    ReadError,
    UnitsError,
    WriteError,
)

CUBE = et.make_cube(ny=40, nx=36, times=None)
POOL = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
RCF = encoder("rcf", bands=["red", "nir"], features=8)


def test_missing_band_is_named() -> None:
    enc = encoder(POOL, bands=["red", "swir22"])
    with pytest.raises(BandNotFoundError, match="'swir22' not found"):
        embed(CUBE, enc)


def test_integer_dn_with_scale_would_scale_twice() -> None:
    # constants in reflectance x 10000: Sentinel-2 DN are converted to reflectance first (the
    # product says how), DN of a product eoxr cannot read the scale of are refused
    dn = et.make_cube(ny=40, nx=36, times=None, dtype="uint16")
    enc = encoder(POOL, bands=["red"], mean=1000, std=500, scale=10000)
    want = embed(dn.astype("float32").assign_attrs(units="1") / 10000, enc, patch=8)
    np.testing.assert_allclose(embed(dn, enc, patch=8).values, want.values, rtol=1e-5)
    plain = et.make_cube(bands=["red", "nir"], ny=40, nx=36, times=None, dtype="uint16")
    with pytest.raises(UnitsError, match=r"to_reflectance\(scale="):
        embed(plain, enc)
    # an encoder without constants cannot tell: integers with its scale would be scaled twice
    bare = encoder(POOL, bands=["red"], scale=10000)
    with pytest.raises(DataTypeError, match=r"scaled twice.*to_reflectance"):
        embed(plain, bare)


def test_patch_larger_than_cube() -> None:
    with pytest.raises(ParameterError, match=r"patch=64 is larger than the cube along 'y' \(40"):
        embed(CUBE, RCF, patch=64)


def test_stride_larger_than_patch() -> None:
    with pytest.raises(ParameterError, match="stride <= patch"):
        embed(CUBE, RCF, patch=8, stride=12)


def test_all_nan_patches_are_skipped_and_nan() -> None:
    cube = CUBE.copy(data=CUBE.values.copy())
    cube[:, :8, :8] = np.nan
    out = embed(cube, RCF, patch=8).values
    assert np.isnan(out[:, 0, 0]).all() and np.isfinite(out[:, 1:, :]).all()


def test_dense_model_is_refused() -> None:
    enc = encoder(torch.nn.Conv2d(2, 3, 1), bands=["red", "nir"])
    with pytest.raises(ParameterError, match="dense maps.*AdaptiveAvgPool2d"):
        embed(CUBE, enc, patch=8)


def test_weights_that_do_not_match_the_architecture(tmp_path) -> None:
    path = tmp_path / "r18.pt"
    torch.save(encoder("ssl4eo-s12-s2", arch="resnet18", random=True).model.state_dict(), path)
    with pytest.raises(ModelError, match=r"do not match architecture 'resnet50'.*check arch="):
        encoder("ssl4eo-s12-s2", arch="resnet50", weights=path)
    with pytest.raises(ReadError, match="does not exist"):
        encoder("ssl4eo-s12-s2", arch="resnet18", weights=tmp_path / "none.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r18.pt"]


def test_published_encoder_without_weights() -> None:
    with pytest.raises(ParameterError, match=r"nothing is downloaded.*weights=.*random=True"):
        encoder("ssl4eo-s12-s2", arch="resnet18")


def test_bad_preprocessing_constants() -> None:
    with pytest.raises(ParameterError, match="std must be positive"):
        encoder(POOL, bands=["red", "nir"], std=[0.1, 0.0])
    with pytest.raises(ParameterError, match="scale=-1"):
        encoder(POOL, bands=["red"], scale=-1)
    with pytest.raises(ParameterError, match="as a list"):
        encoder(POOL, bands="red")


def test_rcf_options() -> None:
    with pytest.raises(ParameterError, match="data=cube"):
        encoder("rcf", bands=["red"], mode="empirical")
    with pytest.raises(ParameterError, match="'gaussian' or 'empirical'"):
        encoder("rcf", bands=["red"], mode="pca")


def test_geoparquet_refuses_to_overwrite_or_write_nowhere(tmp_path) -> None:
    emb = embed(CUBE, RCF, patch=8)
    target = tmp_path / "e.parquet"
    target.write_bytes(b"precious")
    with pytest.raises(WriteError, match="overwrite=True"):
        to_geoparquet(emb, target)
    assert target.read_bytes() == b"precious"
    with pytest.raises(WriteError, match="does not exist"):
        to_geoparquet(emb, tmp_path / "missing" / "e.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.parquet"]
    with pytest.raises(ReadError, match="not written by"):
        gpd.GeoDataFrame(geometry=gpd.points_from_xy([0], [0])).to_parquet(tmp_path / "p.parquet")
        read_geoparquet(tmp_path / "p.parquet")


def test_analysis_on_a_cube_without_features() -> None:
    with pytest.raises(DimensionError, match="'feature' dim"):
        similarity(CUBE, np.ones(4))
    emb = embed(CUBE, RCF, patch=8)
    with pytest.raises(ParameterError, match="length 8"):
        similarity(emb, np.ones(3))
    with pytest.raises(ParameterError, match="lower k"):
        kmeans(emb, 100)


def test_missing_onnx_file() -> None:
    with pytest.raises(ParameterError, match="does not exist"):
        encoder("/nonexistent/model.onnx", bands=["red"])


def test_sample_given_as_a_fraction() -> None:
    # sample= is a number of pixels (here of vectors, and of windows for RCF), never a fraction
    emb = embed(CUBE, RCF, patch=4)  # 10 x 9 vectors
    with pytest.raises(ParameterError, match=r"number of pixels: .* pass sample=9\."):
        kmeans(emb, 2, sample=0.1)
    with pytest.raises(ParameterError, match=r"number of pixels: .* pass sample=720\."):
        encoder("rcf", bands=["red", "nir"], features=8, data=CUBE, sample=0.5)


def test_rcf_takes_no_pipeline() -> None:
    with pytest.raises(ParameterError, match=r"encoder\('rcf'\) takes no preprocessing"):
        encoder("rcf", bands=["red", "nir"], input_size=224)


def test_pipeline_encoder_has_no_whole_cube_preprocess() -> None:
    enc = encoder(POOL, bands=["red", "nir"], input_size=64)
    with pytest.raises(ParameterError, match=r"embed\(cube, enc\)"):
        enc.preprocess(CUBE)


def test_resizing_a_dense_model_is_refused() -> None:
    enc = encoder(torch.nn.Conv2d(2, 3, 1), bands=["red", "nir"], input_size=32)
    with pytest.raises(ParameterError, match="one vector per patch"):
        embed(CUBE, enc, patch=8)


def test_pipeline_steps_out_of_order() -> None:
    steps = [{"op": "crop", "size": 8}, {"op": "resize", "size": 16}]
    with pytest.raises(ParameterError, match="in the order"):
        encoder(POOL, bands=["red"], steps=steps)
