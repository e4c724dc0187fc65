"""Golden tests: every published spec pinned to the values of its source file."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")

import eoxr.testing as et  # noqa: E402
from eoxr.embed import SPECS, embed, encoder  # noqa: E402
from eoxr.errors import ModelError, ParameterError, ReadError  # noqa: E402

S2_13 = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]

# (bands, scale, mean, std, input size, gsd) as printed in the source named in specs.json
GOLDEN = {
    "ssl4eo-s12-s2": (
        S2_13,
        10000,
        [1605.57504906, 1390.78157673, 1314.8729939, 1363.52445545, 1549.44374991,
         2091.74883118, 2371.7172463, 2299.90463006, 2560.29504086, 830.06605044,
         22.10351321, 2177.07172323, 1524.06546312],
        [786.78685367, 850.34818441, 875.06484736, 1138.84957046, 1122.17775652,
         1161.59187054, 1274.39184232, 1248.42891965, 1345.52684884, 577.31607053,
         51.15431158, 1336.09932639, 1136.53823676],
        224,
        10,
    ),
    "ssl4eo-s12-s2-torchgeo": (S2_13, 10000, [0.0] * 13, [10000.0] * 13, 224, 10),
    "ssl4eo-s12-s1": (["VV", "VH"], 1, [-12.59, -20.26], [5.26, 5.91], 224, 10),
    "satlas-s2-rgb": (["B04", "B03", "B02"], None, [0.0] * 3, [255.0] * 3, 256, 10),
    "prithvi-eo-2.0": (
        ["B02", "B03", "B04", "B8A", "B11", "B12"],
        10000,
        [1087.0, 1342.0, 1433.0, 2734.0, 1958.0, 1363.0],
        [2248.0, 2179.0, 2178.0, 1850.0, 1242.0, 1049.0],
        224,
        30,
    ),
    "clay-s2": (
        ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"],
        10000,
        [1105.0, 1355.0, 1552.0, 1887.0, 2422.0, 2630.0, 2743.0, 2785.0, 2388.0, 1835.0],
        [1809.0, 1757.0, 1888.0, 1870.0, 1732.0, 1697.0, 1742.0, 1648.0, 1470.0, 1379.0],
        256,
        10,
    ),
    "softcon-s2": (
        S2_13,
        10000,
        [1612.9, 1397.6, 1322.3, 1373.1, 1561.0, 2108.4, 2390.7, 2318.7, 2581.0, 837.7,
         22.0, 2195.2, 1537.4],
        [791.0, 854.3, 878.7, 1144.9, 1127.5, 1164.2, 1276.0, 1249.5, 1345.9, 577.5,
         47.5, 1340.0, 1142.9],
        224,
        10,
    ),
    "softcon-s1": (["VV", "VH"], 1, [-12.59, -20.26], [5.26, 5.91], 224, 10),
}  # fmt: skip

SOFTCON_OUT = {"resnet50": 2048, "vit_small_patch14_dinov2": 384, "vit_base_patch14_dinov2": 768}

# (licence of the weights, embedding length per architecture) as stated in the source
GOLDEN_MODEL = {
    "ssl4eo-s12-s2": ("CC-BY-4.0", {"resnet18": 512, "resnet50": 2048}),
    "ssl4eo-s12-s2-torchgeo": ("CC-BY-4.0", {"resnet18": 512, "resnet50": 2048}),
    "ssl4eo-s12-s1": ("CC-BY-4.0", {"resnet50": 2048}),
    "satlas-s2-rgb": ("ODC-BY", {"swin_v2_b": 1024}),
    "prithvi-eo-2.0": (
        "Apache-2.0",
        {"prithvi_eo_v2_100": 768, "prithvi_eo_v2_300": 1024, "prithvi_eo_v2_600": 1280},
    ),
    "clay-s2": ("Apache-2.0", {"clay_mae_large": 1024}),
    "softcon-s2": ("CC-BY-4.0", SOFTCON_OUT),
    "softcon-s1": ("CC-BY-4.0", SOFTCON_OUT),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_constants_are_the_published_ones(name: str) -> None:
    spec = SPECS[name]
    bands, scale, mean, std, size, gsd = GOLDEN[name]
    assert list(spec.bands) == bands and spec.scale == scale
    assert list(spec.mean) == mean and list(spec.std) == std
    assert spec.input_size == size and spec.gsd == gsd
    assert len(spec.mean) == len(spec.std) == len(spec.bands)
    assert "/" in spec.source and spec.description
    assert set(GOLDEN) == set(SPECS)  # a new spec needs its golden row


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_licence_and_output_size_are_the_published_ones(name: str) -> None:
    licence, output_size = GOLDEN_MODEL[name]
    spec = SPECS[name]
    assert spec.licence == licence and spec.output_size == output_size
    assert "licence: " in spec.source  # every licence names where it was read
    assert set(spec.arch) <= set(spec.output_size)
    assert set(GOLDEN_MODEL) == set(SPECS)


def test_softcon_s1_builds_a_two_band_resnet50() -> None:
    enc = encoder("softcon-s1", random=True)
    assert enc.info["arch"] == "resnet50" and enc.patch == 224 and enc.scale == 1
    assert tuple(enc.model.conv1.weight.shape) == (64, 2, 7, 7)
    linear = et.make_cube(bands=["VV", "VH"], ny=32, nx=32, times=None)
    cube = (10 * np.log10(linear)).assign_attrs(units="dB", long_name="backscatter")
    emb = embed(cube, enc, patch=32)
    assert emb.sizes["feature"] == SPECS["softcon-s1"].output_size["resnet50"] == 2048
    assert bool(np.isfinite(emb.values).all())


def test_spec_builds_resnet_and_loads_local_weights(tmp_path) -> None:
    enc = encoder("ssl4eo-s12-s2", arch="resnet18", random=True)
    assert enc.scale == 10000 and enc.patch == 224 and enc.info["spec"] == "ssl4eo-s12-s2"
    path = tmp_path / "w.pt"
    torch.manual_seed(1)
    torch.save(enc.model.state_dict(), path)
    again = encoder("ssl4eo-s12-s2", arch="resnet18", weights=path)
    for a, b in zip(enc.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    cube = et.make_cube(bands=S2_13, ny=40, nx=40, times=None)
    emb = embed(cube, again, patch=32)
    assert emb.sizes["feature"] == SPECS["ssl4eo-s12-s2"].output_size["resnet18"]
    with pytest.raises(ModelError, match="do not match architecture 'resnet50'"):
        encoder("ssl4eo-s12-s2", arch="resnet50", weights=path)
    with pytest.raises(ReadError, match="nothing is downloaded"):
        encoder("ssl4eo-s12-s2", arch="resnet18", weights=tmp_path / "absent.pt")


def test_published_name_without_weights_is_refused(tmp_path) -> None:
    """No silent random weights under a published name: weights= or an explicit random=True."""
    for name in ("ssl4eo-s12-s2", "softcon-s1"):
        with pytest.raises(ParameterError, match=r"weights='path/to/.*random=True") as err:
            encoder(name)
        assert "nothing is downloaded" in str(err.value)
    # the fix the message names works, and random weights are seeded
    a = encoder("softcon-s1", arch="resnet50", random=True)
    b = encoder("softcon-s1", arch="resnet50", random=True, seed=0)
    c = encoder("softcon-s1", arch="resnet50", random=True, seed=1)
    assert torch.equal(a.model.conv1.weight, b.model.conv1.weight)
    assert not torch.equal(a.model.conv1.weight, c.model.conv1.weight)
    assert a.info["weights"] == "random (seed=0)"
    path = tmp_path / "w.pt"
    torch.save(a.model.state_dict(), path)
    loaded = encoder("softcon-s1", arch="resnet50", weights=path)
    assert "weights" not in loaded.info
    assert torch.equal(loaded.model.conv1.weight, a.model.conv1.weight)
    with pytest.raises(ParameterError, match="pass one of them"):
        encoder("softcon-s1", weights=path, random=True)
    with pytest.raises(ParameterError, match="True or False"):
        encoder("softcon-s1", random="yes")


def test_specs_without_a_builder_wrap_your_module() -> None:
    with pytest.raises(ParameterError, match=r"preprocess\(\)"):
        encoder("prithvi-eo-2.0")
    pool = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    enc = encoder(pool, **SPECS["prithvi-eo-2.0"].preprocess())
    cube = et.make_cube(bands=["B02", "B03", "B04", "B8A", "B11", "B12"], ny=32, nx=32, times=None)
    emb = embed(cube, enc, patch=16)
    want = (cube.sel(band="B8A").values[:16, :16].mean() * 10000 - 2734.0) / 1850.0
    assert float(emb.sel(feature=3).values[0, 0]) == pytest.approx(want, rel=1e-5)
    with pytest.raises(ParameterError, match="scale="):
        SPECS["satlas-s2-rgb"].preprocess()
    assert SPECS["satlas-s2-rgb"].preprocess(scale=1275.0)["scale"] == 1275.0
    with pytest.raises(ParameterError, match="unknown encoder"):
        encoder("ssl4eo-s99")
