"""IR-MAD: canonical correlations on known data, chunk invariance, real Taizhou kappa."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import change as ch
from eoxr.datasets import synthetic_s2
from eoxr.errors import DimensionError, ParameterError

from .conftest import assert_same_on_chunkings, kappa_oa


def pair(shape=(40, 48)):
    s = synthetic_s2(seed=4, shape=shape, times=24, cloud_cover=0.0)
    return s.cube.isel(time=1), s.cube.isel(time=13), s.change.values


def test_irmad_invariant_to_affine_radiometry_of_second_date():
    # b = gain * a + offset + noise on unchanged pixels: the MADs do not see the gain/offset
    a, _, _ = pair()
    rng = np.random.default_rng(0)
    b = a * 1.7 + 0.05 + rng.normal(0, 0.002, a.shape).astype("float32")
    b.values[:, :10, :10] = b.values[::-1, :10, :10]  # a planted spectral change
    res = ch.irmad(a, b)
    chi2 = res.chi2.values
    assert res.mad.sizes["variate"] == a.sizes["band"]
    assert np.median(chi2[:10, :10]) > 50 * np.median(chi2[15:, 15:])
    assert max(res.attrs["rho"]) > 0.99 and res.attrs["iterations"] >= 2
    assert res.chi2.dtype == np.float32 and res.p_nochange.max() <= 1


def test_irmad_chunk_invariant_and_lazy_with_sampling():
    a, b, _ = pair((64, 64))
    both = xr.concat([a, b], "time", coords="minimal", compat="override")
    assert_same_on_chunkings(
        lambda c: ch.irmad(c.isel(time=0), c.isel(time=1), sample=3000, seed=3),
        both,
        [{"y": 7, "x": 11}, {"y": 64, "x": 16, "band": 5}],
        rtol=0,
    )
    lazy = ch.irmad(a.chunk({"x": 12}), b.chunk({"x": 12}), sample=3000)
    assert lazy.chi2.chunks is not None and lazy.attrs["sample_size"] == 3000


def test_irmad_bad_inputs():
    a, b, _ = pair()
    with pytest.raises(DimensionError, match="band"):
        ch.irmad(a.isel(band=0), b.isel(band=0))
    with pytest.raises(ParameterError, match="sample"):
        ch.irmad(a, b, sample=0)
    with pytest.raises(ParameterError, match="valid pixels"):
        ch.irmad(a * np.nan, b)


def test_taizhou_irmad_ki_kappa(taizhou):
    a, b, changed, unchanged = taizhou
    res = ch.irmad(a, b)
    t, mask = ch.threshold(res.chi2, "kittler_illingworth")
    oa, kappa = kappa_oa(mask.values, changed, unchanged)
    # classic IR-MAD + KI reaches kappa 0.919 on this pair
    assert kappa > 0.91 and oa > 0.97
    via_verb = a.eo.change(b, method="irmad")
    np.testing.assert_array_equal(via_verb.change.values, mask.values)
