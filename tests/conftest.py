"""Shared fixtures: paths to the real samples in ../shared/data and small synthetic cubes."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample {path} is absent (../shared/data is not next to this checkout)")
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is absent (real samples live next to the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def s2_slovenia():
    """Real Sentinel-2 L1C reflectance, (time, band, y, x) float32 with CRS, from shared data."""
    import rioxarray  # noqa: F401
    import xarray as xr

    path = SHARED_DATA / "s2_slovenia_timeseries" / "s2l1c_5dates_13bands_epsg32633.nc"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with xr.open_dataset(path) as ds:
        da = ds["reflectance"].load()
    return da.astype("float32").rio.write_crs("EPSG:32633")
