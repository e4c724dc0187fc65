"""apply_model with declared preprocessing asks eoxr.radiometry what the cube holds."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")

import eoxr.testing as et  # noqa: E402
from eoxr.errors import UnitsError  # noqa: E402
from eoxr.ml import apply_model  # noqa: E402

CUBE = et.make_cube(ny=32, nx=32, times=None)  # reflectance, B02 B03 B04 B08
GEOM = {"input_dims": {"y": 16, "x": 16}, "input_overlap": {"y": 4, "x": 4}}


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Conv2d(2, 2, 3, padding=1).eval()


def test_reflectance_constants_get_reflectance_from_dn() -> None:
    kw = dict(bands=["nir", "red"], mean=[0.3, 0.25], std=[0.2, 0.1])
    dn = (CUBE * 10000).round().astype("uint16").assign_attrs(units="DN")
    refl = (dn.astype("float64") / 1e4).astype("float32").assign_attrs(units="1")
    want = apply_model(refl, _net(), **GEOM, **kw)
    got = apply_model(dn, _net(), **GEOM, **kw)  # Sentinel-2 DN: converted by the product scale
    np.testing.assert_allclose(got.values, want.values, atol=1e-5)
    floats = dn.astype("float32").drop_attrs()  # DN as floats, nothing says so
    lazy = apply_model(floats.chunk({"y": 16}), _net(), **GEOM, **kw)
    with pytest.raises(UnitsError, match=r"apply_model\(Conv2d\).*values around"):
        lazy.compute()
    plain = dn.assign_coords(band=["blue", "green", "red", "nir"])  # no product: no scale known
    with pytest.raises(UnitsError, match=r"to_reflectance\(scale="):
        apply_model(plain, _net(), **GEOM, **kw)


def test_dn_preprocessing_refuses_reflectance() -> None:
    # scale=1e-4 with reflectance constants: the model takes DN. Reflectance (e.g. scaled by
    # hand with units still "DN") would be scaled a second time.
    kw = dict(bands=["nir", "red"], mean=[0.3, 0.25], std=[0.2, 0.1], scale=1e-4)
    by_hand = (CUBE * 10000).assign_attrs(units="DN") * 1e-4
    with pytest.raises(UnitsError, match="reflectance already"):
        apply_model(by_hand, _net(), **GEOM, **kw)
    ok = apply_model(CUBE * 10000, _net(), **GEOM, **kw)  # DN floats: fine
    want = apply_model(CUBE, _net(), **GEOM, bands=["nir", "red"], mean=[0.3, 0.25], std=[0.2, 0.1])
    np.testing.assert_allclose(ok.values, want.values, atol=1e-5)


def test_torch_dataset_prepares_dn_as_apply_model_does() -> None:
    from eoxr.ml import torch_dataset

    kw = dict(bands=["nir", "red"], mean=[0.3, 0.25], std=[0.2, 0.1])
    dn = (CUBE * 10000).round().astype("uint16").assign_attrs(units="DN")
    refl = (dn.astype("float64") / 1e4).astype("float32").assign_attrs(units="1")
    a = torch_dataset(dn, input_dims={"y": 16, "x": 16}, **kw)[0].numpy()
    b = torch_dataset(refl, input_dims={"y": 16, "x": 16}, **kw)[0].numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
