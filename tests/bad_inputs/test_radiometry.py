"""Catalogue of bad inputs to eoxr.radiometry and the verbs that ask it: type and message.

Each advice is run on the object the user holds, to show that it works.
"""

from __future__ import annotations

import numpy as np
import pytest

import eoxr
import eoxr.datasets
import eoxr.testing as et
from eoxr.errors import ParameterError, UnitsError

DN = et.make_cube(bands=["B04", "B08"], times=None, dtype="uint16", ny=20, nx=20)


def test_unknown_product_names_scale():
    plain = DN.assign_coords(band=["red", "nir"])
    with pytest.raises(UnitsError, match=r"cannot tell the product.*to_reflectance\(scale="):
        plain.eo.to_reflectance()
    assert float(plain.eo.to_reflectance(scale=1e-4).max()) < 1


def test_landsat_level1_names_the_mtl_scale():
    l1 = et.make_cube(bands=["B4", "B5"], times=None, dtype="uint16", ny=8, nx=8)
    with pytest.raises(UnitsError, match="REFLECTANCE_MULT_BAND"):
        l1.eo.to_reflectance()


def test_s2_after_baseline_change_without_metadata():
    dated = et.make_cube(bands=["B04", "B08"], times=1, dtype="uint16", ny=8, nx=8)
    with pytest.raises(UnitsError, match="processing_baseline"):
        dated.eo.to_reflectance()
    fixed = dated.assign_attrs(processing_baseline="04.00").eo.to_reflectance()
    f = dated.values.astype(np.float64)
    want = np.where(f == 0, np.nan, (f - 1000) / 1e4).astype(np.float32)
    np.testing.assert_array_equal(fixed.values, want)


def test_offset_without_scale():
    with pytest.raises(ParameterError, match="offset=-0.1 without scale="):
        DN.assign_coords(band=["red", "nir"]).eo.to_reflectance(offset=-0.1)


def test_scale_on_reflectance():
    refl = DN.eo.to_reflectance()
    with pytest.raises(UnitsError, match="scale it twice"):
        refl.eo.to_reflectance(scale=1e-4)


def test_quality_layer_in_a_dataarray():
    cube = et.make_cube(bands=["B04", "SCL"], times=None, dtype="uint16", ny=4, nx=4)
    with pytest.raises(ParameterError, match=r"cube.drop_sel\(band=\['SCL'\]\)"):
        cube.eo.to_reflectance()
    assert cube.drop_sel(band=["SCL"]).eo.to_reflectance().dtype == np.float32


def test_float_dn_scaled_by_hand_then_converted_again():
    by_hand = DN.astype("float32") * 1e-4  # units still "DN"
    with pytest.raises(UnitsError, match=r"reflectance already.*units'\] = '1'"):
        by_hand.eo.to_reflectance()
    by_hand.attrs["units"] = "1"
    assert by_hand.eo.to_reflectance() is by_hand


def test_float_dn_without_units_into_an_index():
    floats = DN.astype("float32").drop_attrs()
    with pytest.raises(UnitsError, match=r"values around.*to_reflectance\(scale=1e-4\)"):
        floats.eo.index("SAVI")
    assert float(floats.eo.to_reflectance(scale=1e-4).eo.index("SAVI").max()) < 1.5


def test_sar_into_to_reflectance():
    s1 = eoxr.datasets.synthetic_s1(shape=(16, 16), times=1).cube
    with pytest.raises(UnitsError, match="SAR backscatter"):
        s1.eo.to_reflectance(scale=1.0)


def test_to_db_on_optical_reflectance():
    refl = DN.eo.to_reflectance()
    with pytest.raises(UnitsError, match=r"optical reflectance.*eoxr:kind"):
        refl.eo.to_db()


def test_speckle_filter_on_optical_dn_does_not_talk_about_db():
    with pytest.raises(UnitsError) as err:
        DN.eo.denoise("lee", size=5)
    assert "optical" in str(err.value) and "'dB'" not in str(err.value)


def test_lee_on_db_labelled_linear_advises_to_linear():
    s1 = eoxr.datasets.synthetic_s1(shape=(32, 32), times=1).cube
    db = 10 * np.log10(s1)  # xarray keeps units="1"
    with pytest.raises(UnitsError, match=r"^lee: .*assign_attrs\(units='dB'\)\.eo\.to_linear\(\)"):
        db.eo.denoise("lee").compute()
    lin = db.assign_attrs(units="dB").eo.to_linear()
    np.testing.assert_allclose(lin.values, s1.values, rtol=1e-5)
