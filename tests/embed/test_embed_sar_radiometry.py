"""Encoders whose constants are in dB (SSL4EO-S12 S1, SoftCon S1) get dB, never linear power."""

from __future__ import annotations

import numpy as np
import pytest
import rioxarray
import xarray as xr

from eoxr.embed import SPECS, embed, encoder
from eoxr.errors import UnitsError
from tests.conftest import require, shared_path

torch = require("torch", extra="ml")

CAMARGUE = "s1_camargue_vv_db/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif"


@pytest.fixture(scope="module")
def enc():
    # a small network of one's own under the published S1 constants (mean -12.59 / -20.26 dB)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 8, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
    )
    return encoder(net, **SPECS["ssl4eo-s12-s1"].preprocess())


@pytest.fixture(scope="module")
def camargue_db() -> xr.DataArray:
    """The real Camargue VV scene in dB, with a VH band 7 dB below it (a typical VV/VH gap)."""
    vv = rioxarray.open_rasterio(shared_path(CAMARGUE), masked=True).squeeze("band", drop=True)
    vv = vv.isel(y=slice(0, 64), x=slice(0, 64)).astype("float32")
    cube = xr.concat([vv, vv - 7], dim="band").assign_coords(band=["VV", "VH"])
    return cube.assign_attrs(units="dB")


def test_db_cube_embeds(enc, camargue_db) -> None:
    emb = embed(camargue_db, enc, patch=32)
    assert emb.sizes["feature"] == 8
    assert bool(np.isfinite(emb.values).all())


def test_linear_power_declared_is_refused_with_to_db(enc, camargue_db) -> None:
    linear = (10 ** (camargue_db / 10)).assign_attrs(units="linear")
    with pytest.raises(UnitsError, match=r"in dB.*units='linear'.*cube\.eo\.to_db\(\)"):
        embed(linear, enc, patch=32)


def test_linear_power_without_units_raises_when_computed(enc, camargue_db) -> None:
    # attrs lost after arithmetic: the values tell (no negative value is no dB backscatter)
    linear = (10 ** (camargue_db / 10)).chunk({"y": 32, "x": 32})
    linear.attrs = {}
    emb = embed(linear, enc, patch=32)  # lazy: nothing read yet
    with pytest.raises(UnitsError, match=r"linear power.*cube\.eo\.to_db\(\)"):
        emb.compute()


def test_db_without_units_passes_the_value_check(enc, camargue_db) -> None:
    db = camargue_db.chunk({"y": 32, "x": 32})
    db.attrs = {}
    lazy = embed(db, enc, patch=32).compute()
    eager = embed(camargue_db, enc, patch=32)
    np.testing.assert_allclose(lazy.values, eager.values, rtol=1e-5, atol=1e-6)


def test_advised_fix_runs_on_the_object_held(enc, camargue_db) -> None:
    linear = (10 ** (camargue_db / 10)).assign_attrs(units="linear")
    fixed = linear.eo.to_db()
    out = embed(fixed, enc, patch=32)
    ref = embed(camargue_db, enc, patch=32)
    np.testing.assert_allclose(out.values, ref.values, rtol=1e-4, atol=1e-4)
