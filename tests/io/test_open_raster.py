import numpy as np
import pytest
import rasterio

import eoxr
from eoxr import datasets
from eoxr.errors import GridMismatchError, ParameterError, ReadError
from eoxr.io.raster import date_from_name, read_envi_header
from eoxr.testing import assert_lazy
from tests.conftest import shared_path


def test_stack_bands_from_cogs():
    folder = datasets.data_dir("s2_chesapeake") / "s2_chesapeake_l1c"
    da = eoxr.open_raster(
        [folder / "B04.tif", folder / "B08.tif"],
        stack="band",
        names=["red", "nir"],
        chunks={"y": 100, "x": 100},
    )
    assert_lazy(da)
    assert list(da.band.values) == ["red", "nir"]
    assert da.dtype == np.float32  # nodata 0 -> NaN needs a float
    assert da.rio.crs.to_epsg() == 32618
    with rasterio.open(folder / "B08.tif") as r:
        np.testing.assert_array_equal(da.sel(band="nir").values, r.read(1).astype(np.float32))


def test_mismatched_grids(tmp_path):
    folder = datasets.data_dir("s2_chesapeake") / "s2_chesapeake_l1c"
    with pytest.raises(GridMismatchError, match="resolution="):
        eoxr.open_raster([folder / "B04.tif", folder / "B05.tif"], stack="band")
    with pytest.raises(ParameterError, match="stack="):
        eoxr.open_raster([folder / "B04.tif", folder / "B08.tif"])


def test_stack_time_from_scene_ids():
    root = shared_path("landsat_sr_timeseries_colorado")
    files = sorted(root.glob("*/*_b4.tif"))[:3]
    da = eoxr.open_raster(files, stack="time", names=["nir"])
    assert da.dims == ("time", "band", "y", "x")
    assert str(da.time.values[0])[:10] == "2008-04-27"  # LE7 ... 2008 day 118
    assert np.isnan(da.values).any() or da.dtype == np.float32


def test_envi_wavelengths_and_labels():
    root = shared_path("landsat_change_taizhou")
    hdr = read_envi_header(root / "2000TM.HDR")
    assert int(hdr["bands"]) == 6
    da = eoxr.open_raster(root / "2000TM")
    assert da.sizes["band"] == 6 and da.rio.crs.to_epsg() == 32651
    if "wavelength" in hdr:
        assert "wavelength" in da.coords and da.wavelength.attrs["units"] == "nm"


def test_envi_header_parsing(tmp_path):
    hdr = tmp_path / "cube.hdr"
    hdr.write_text(
        "ENVI\nbands = 3\nwavelength units = Micrometers\n"
        "wavelength = {0.45, 0.55,\n 0.65}\nband names = {a, b, c}\n"
    )
    meta = read_envi_header(hdr)
    assert meta["wavelength"] == ["0.45", "0.55", "0.65"]
    assert meta["band names"] == ["a", "b", "c"]


def test_unreadable_file(tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not a tiff at all")
    with pytest.raises(ReadError, match="cannot read"):
        eoxr.open_raster(bad)
    with pytest.raises(ReadError, match="does not exist"):
        eoxr.open_raster(tmp_path / "missing.tif")


@pytest.mark.parametrize(
    ("name", "date"),
    [
        ("LE70350322008118EDC00_b3.tif", "2008-04-27"),
        ("S2_20200501_B04.tif", "2020-05-01"),
        ("x_2021-07-04.tif", "2021-07-04"),
    ],
)
def test_date_from_name(name, date):
    assert str(date_from_name(name).date()) == date
