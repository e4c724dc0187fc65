"""The vendored ASI catalog: provenance, validation on load, queries, user registry."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

import eoxr  # noqa: F401
import eoxr.testing as et
from eoxr.errors import CatalogError
from eoxr.indices import _catalog, catalog, register_index, unregister_index
from tests.conftest import require

RAW = json.loads(resources.files("eoxr.indices.data").joinpath("asi.json").read_text())


def test_vendored_catalog_has_provenance_and_licence():
    assert RAW["name"] == "Awesome Spectral Indices"
    assert RAW["version"] and "awesome-spectral-indices" in RAW["source"]
    licence = resources.files("eoxr.indices.data").joinpath("LICENSE.txt").read_text()
    assert "MIT License" in licence and "Montero" in licence
    cat = _catalog.asi()
    assert len(cat.indices) == len(RAW["indices"]) >= 280
    assert cat.constants["L"].default == 1.0 and cat.constants["PAR"].default is None
    assert set(cat.kernels) == {"linear", "poly", "RBF"}


def test_every_entry_classified():
    cat = _catalog.asi()
    ndvi, evi, kndvi = cat.indices["NDVI"], cat.indices["EVI"], cat.indices["kNDVI"]
    assert ndvi.bands == ("N", "R") and ndvi.constants == ()
    assert set(evi.constants) == {"g", "C1", "C2", "L"} and set(evi.bands) == {"N", "R", "B"}
    assert kndvi.kernel_terms == {"kNN": ("N", "N"), "kNR": ("N", "R")}
    assert cat.indices["kEVI"].kernel_terms["kNL"] == ("N", "L")
    assert sum(bool(e.kernel_terms) for e in cat.indices.values()) == 5


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda r: r["indices"]["NDVI"].update(formula="(N - R) / (N + X)"), "does not declare"),
        (lambda r: r["indices"]["NDVI"].update(bands=["N", "R", "Q"]), "unknown symbols"),
        (lambda r: r["indices"]["NDVI"].update(formula="__import__('os')"), "not allowed"),
        (lambda r: r.pop("constants"), "constants"),
        (lambda r: r["kernels"]["RBF"].update(parameters=[]), "undeclared"),
    ],
)
def test_validation_rejects_bad_entries(mutate, match):
    raw = copy.deepcopy(RAW)
    mutate(raw)
    with pytest.raises(CatalogError, match=match):
        _catalog.validate_catalog(raw)


def test_catalog_query_filters():
    df = catalog()
    assert len(df) >= 280 and {"formula", "bands", "reference"} <= set(df.columns)
    veg = catalog(domain="vegetation")
    assert set(veg["application_domain"]) == {"vegetation"} and "NDVI" in veg.index
    s2 = catalog(platform="sentinel-2")
    assert "NDVI" in s2.index and "NDVIT" not in s2.index  # thermal: Landsat only
    assert "NDVIT" in catalog(platform="landsat").index


def test_catalog_bands_available_cube():
    cube = et.make_cube(bands=["B02", "B03", "B04", "B08"], ny=4, nx=4)
    df = catalog(bands_available=cube)
    assert {"NDVI", "EVI", "GNDVI", "kNDVI", "NDWI"} <= set(df.index)
    assert not {"NDRE", "NBR", "NDMI", "NIRvP"} & set(df.index)  # need RE1 / S2 / S1 / PAR
    assert df.loc["NDVI", "band_labels"] == "N=B08, R=B04"
    landsat = catalog(bands_available=["SR_B4", "SR_B5", "SR_B6"])
    assert {"NDVI", "NDMI"} <= set(landsat.index)  # Landsat 8/9 L2: red, nir08 -> N, swir16
    assert landsat.loc["NDVI", "band_labels"] == "N=SR_B5, R=SR_B4"


def test_register_and_use_user_index():
    register_index("MYNDRE", "(N - RE1) / (N + RE1 + L)", long_name="my red-edge index")
    try:
        with pytest.raises(CatalogError, match="already exists"):
            register_index("MYNDRE", "N / RE1")
        with pytest.raises(CatalogError, match="already exists"):
            register_index("NDVI", "N / R")
        assert catalog().loc["MYNDRE", "source"] == "user"
        cube = et.make_cube(bands=["B05", "B08"], ny=4, nx=4, times=None)
        got = cube.eo.index("MYNDRE", L=0.5)
        n, re1 = cube.sel(band="B08"), cube.sel(band="B05")
        assert float(abs(got - ((n - re1) / (n + re1 + 0.5))).max()) < 1e-6
        assert got.attrs["long_name"] == "my red-edge index"
    finally:
        unregister_index("MYNDRE")
    assert "MYNDRE" not in catalog().index
    with pytest.raises(CatalogError, match="unknown symbols"):
        register_index("BAD", "N / FOO")


def test_update_script_rebuilds_the_same_catalog(tmp_path):
    spyndex = require("spyndex", extra="test")
    import importlib.util
    from pathlib import Path

    script = Path(__file__).parents[2] / "scripts" / "update_indices.py"
    spec = importlib.util.spec_from_file_location("update_indices", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    src = Path(spyndex.__file__).parent / "data"
    assert mod.main(["--from", str(src), "--version", "probe", "--dest", str(tmp_path)]) == 0
    rebuilt = json.loads((tmp_path / "asi.json").read_text())
    assert rebuilt["version"] == "probe" and rebuilt["indices"] == RAW["indices"]
    assert rebuilt["constants"] == RAW["constants"] and rebuilt["kernels"] == RAW["kernels"]
    assert "MIT" in (tmp_path / "LICENSE.txt").read_text()
