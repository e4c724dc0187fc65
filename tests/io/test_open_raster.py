import numpy as np
import pytest
import rasterio

import eoxr
from eoxr import datasets
from eoxr.errors import GridMismatchError, ParameterError, ReadError
from eoxr.io.envi import to_nanometres
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
    assert da.dtype == np.uint8 and da.attrs["platform"] == "landsat-7"  # sensor type ETM
    # header says Micrometers: 0.4825 um -> 482.5 nm, as floats
    assert da.wavelength.dtype == np.float64 and da.wavelength.attrs["units"] == "nm"
    np.testing.assert_allclose(da.wavelength.values, [482.5, 565, 660, 825, 1650, 2220])
    with rasterio.open(root / "2000TM") as r:
        np.testing.assert_array_equal(da.isel(band=3).values, r.read(4))


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


def _write_envi(tmp_path, header_lines, name="cube"):
    """A real ENVI file: float32 BSQ raw data plus a hand-written header."""
    data = np.arange(3 * 4 * 5, dtype="float32").reshape(3, 4, 5)
    data.tofile(tmp_path / f"{name}.img")
    head = [
        "ENVI",
        "samples = 5",
        "lines = 4",
        "bands = 3",
        "header offset = 0",
        "file type = ENVI Standard",
        "data type = 4",
        "interleave = bsq",
        "byte order = 0",
        "map info = {UTM, 1.0, 1.0, 500000.0, 4000000.0, 30.0, 30.0, 33, North, WGS-84}",
    ]
    (tmp_path / f"{name}.hdr").write_text("\n".join(head + header_lines) + "\n")
    return tmp_path / f"{name}.img", data


def test_envi_bbl_and_numeric_wavelengths(tmp_path):
    path, data = _write_envi(
        tmp_path,
        [
            "wavelength units = Nanometers",
            "wavelength = {346.2995778, 400.5, 450.25}",
            "fwhm = {5.1, 5.2, 5.3}",
            "bbl = {1, 0, 1}",
        ],
    )
    da = eoxr.open_raster(path)
    assert da.wavelength.dtype == np.float64
    np.testing.assert_allclose(da.wavelength.values, [346.2995778, 400.5, 450.25])
    np.testing.assert_allclose(da.fwhm.values, [5.1, 5.2, 5.3])
    assert da.bbl.dtype == np.int8 and da.bbl.values.tolist() == [1, 0, 1]
    assert da.sel(band=da.bbl == 1).sizes["band"] == 2
    # no band names: GDAL's descriptions are "346.2995778 Nanometers": not labels, not attrs
    assert da.band.values.tolist() == ["1", "2", "3"]
    leaked = [k for k, v in da.attrs.items() if "Nanometers" in str(v) or k == "wavelength"]
    assert leaked == []
    np.testing.assert_array_equal(da.values, data)
    assert da.rio.crs.to_epsg() == 32633


def test_envi_micrometres_inline_units_and_names(tmp_path):
    path, _ = _write_envi(
        tmp_path,
        [
            "wavelength units = Micrometers",
            "wavelength = {0.45, 0.55, 0.65}",
            "band names = {blue, green, red}",
        ],
    )
    da = eoxr.open_raster(path)
    np.testing.assert_allclose(da.wavelength.values, [450.0, 550.0, 650.0])
    assert da.band.values.tolist() == ["blue", "green", "red"] and "bbl" not in da.coords
    # a unit written inside a value wins over the header's; unitless values < 30 are um
    got = to_nanometres(["346.3 Nanometers", "1.2 um", "700 nm"], "Micrometers")
    np.testing.assert_allclose(got, [346.3, 1200.0, 700.0])
    np.testing.assert_allclose(to_nanometres(["0.5", "2.2"], None), [500.0, 2200.0])
    assert to_nanometres(["1", "2"], "Index") is None


def test_single_file_band_descriptions(tmp_path):
    from eoxr.testing import make_cube

    path = make_cube(times=None).eo.to_cog(tmp_path / "cube.tif")
    assert eoxr.open_raster(path).band.values.tolist() == ["B02", "B03", "B04", "B08"]
    plain = tmp_path / "plain.tif"
    with rasterio.open(path) as src:
        prof = src.profile
        with rasterio.open(plain, "w", **prof) as dst:
            dst.write(src.read())
    assert eoxr.open_raster(plain).band.values.tolist() == ["1", "2", "3", "4"]


def test_netcdf_timeseries_opens_lazily_with_crs():
    path = shared_path("s2_slovenia_timeseries", "s2l1c_5dates_13bands_epsg32633.nc")
    da = eoxr.open_raster(path)
    assert_lazy(da)
    assert da.dims == ("time", "band", "y", "x") and da.sizes["band"] == 13
    assert da.rio.crs.to_epsg() == 32633  # from the file's ``crs`` attribute
    assert da.band.values[3] == "B04" and da.dtype == np.float32
    many = shared_path("s2_slovenia_timeseries", "ndvi_clm_68dates_epsg32633.nc")
    with pytest.raises(ParameterError, match="ndvi.*variable="):
        eoxr.open_raster(many)
    ndvi = eoxr.open_raster(many, variable="ndvi")
    assert ndvi.dims == ("time", "y", "x") and ndvi.sizes["time"] == 68
    assert ndvi.rio.crs.to_epsg() == 32633


def test_option_values_are_validated(tmp_path):
    folder = datasets.data_dir("s2_chesapeake") / "s2_chesapeake_l1c"
    files = [folder / "B04.tif", folder / "B08.tif"]
    with pytest.raises(ParameterError, match=r"\['time', 'band'\]"):
        eoxr.open_raster(files, stack="bands")
    with pytest.raises(ParameterError, match="'nearest'"):
        eoxr.open_raster(files, stack="band", resampling="bicubic")
    with pytest.raises(ParameterError, match="'finest'"):
        eoxr.open_raster(files, stack="band", resolution="fine")
    with pytest.raises(ParameterError, match="positive"):
        eoxr.open_raster(files, stack="band", resolution=-10)
    with pytest.raises(ParameterError, match="empty"):
        eoxr.open_raster([])


def test_plain_file_names_lose_their_shared_prefix():
    root = shared_path("s2_chesapeake_l1c_cc0")
    cube = eoxr.open_raster([root / "s2_B04.tif", root / "s2_B08.tif"], stack="band")
    assert cube.band.values.tolist() == ["B04", "B08"]
    assert "platform" not in cube.attrs  # nothing in these names says which sensor


def test_integer_file_masked_to_float_is_marked_dn(tmp_path):
    path = tmp_path / "T33UUU_20170216T102101_B04.tif"
    prof = {
        "driver": "GTiff",
        "width": 4,
        "height": 4,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "nodata": 0,
        "transform": rasterio.transform.from_origin(500000, 5000000, 10, 10),
    }
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(np.full((1, 4, 4), 1200, "uint16"))
    cube = eoxr.open_raster([path], stack="band")
    assert cube.dtype == np.float32
    assert cube.attrs["units"] == "DN"
