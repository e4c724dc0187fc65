"""Whole-scene mean preservation of every speckle filter, on a real and a synthetic urban scene.

The ratio ``mean(filtered) / mean(input)`` in linear power over the whole scene (measured on
this branch, looks 4.4 / estimated; "nopts" = ``keep_points=False``):

=============  ========  ===========  ===============  ==================
filter         Camargue  urban flood  Camargue nopts   urban flood nopts
=============  ========  ===========  ===============  ==================
boxcar         1.000     1.000        -                -
median         0.906     0.207        -                -
lee            0.989     0.999        0.989            0.999
kuan           0.991     0.999        0.991            0.999
enhanced_lee   0.988     0.999        0.988            0.999
gamma_map      0.976     0.996        0.972            0.997
frost          0.990     0.999        0.990            0.999
refined_lee    0.979     0.986        0.971            0.943
lee_sigma      0.978     1.008        0.974            1.037
=============  ========  ===========  ===============  ==================
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from eoxr import metrics, sar
from eoxr.sar.speckle import ADAPTIVE

ALL = ["boxcar", "median", *ADAPTIVE]


def camargue(shared_data):
    import rioxarray

    tif = next((shared_data / "s1_camargue_vv_db").glob("*.tif"))
    da = rioxarray.open_rasterio(tif).squeeze("band", drop=True)
    return da.assign_attrs(units="dB")


@pytest.mark.parametrize("name", ALL)
def test_whole_scene_mean_on_real_camargue(name, shared_data):
    da = camargue(shared_data)
    ratio = metrics.mean_ratio(getattr(sar, name)(da), da)  # looks estimated (4.4)
    if name == "boxcar":
        assert ratio == pytest.approx(1.0, abs=2e-3)
    elif name == "median":
        assert 0.85 < ratio < 0.95  # the median of speckle lies below its mean
    else:
        assert abs(ratio - 1) < 0.03, (name, ratio)


@pytest.mark.parametrize("name", ALL)
def test_whole_scene_mean_on_urban_flood(name, urban_flood_scene):
    img, truth, strong = urban_flood_scene
    out = getattr(sar, name)(img, looks=4.4)
    ratio = metrics.mean_ratio(out, img)
    if name == "boxcar":
        assert ratio == pytest.approx(1.0, abs=2e-3)
    elif name == "median":  # point targets narrower than half the window vanish
        assert ratio < 0.5
    else:
        assert abs(ratio - 1) < 0.03, (name, ratio)
        # the strong scatterers themselves keep their power
        kept = float(out.values[strong].sum() / img.values[strong].sum())
        assert kept > 0.95, (name, kept)


@pytest.mark.parametrize("name", ["refined_lee", "lee_sigma"])
def test_without_point_step_the_mean_drifts(name, urban_flood_scene):
    """The failure the point step fixes, kept visible: refined Lee loses, lee_sigma gains."""
    img = urban_flood_scene[0]
    off = metrics.mean_ratio(getattr(sar, name)(img, looks=4.4, keep_points=False), img)
    on = metrics.mean_ratio(getattr(sar, name)(img, looks=4.4), img)
    assert abs(off - 1) > 0.03 and abs(on - 1) < abs(off - 1) / 3


def test_urban_flood_scene_is_what_it_says(urban_flood_scene):
    img, truth, strong = urban_flood_scene
    ratio = img.values.astype(float) / truth.values
    assert abs(ratio[~strong].mean() - 1) < 0.02 and abs(1 / ratio[~strong].var() - 4.4) < 0.3
    t = truth.values
    assert t[strong].max() / np.median(t[~strong]) > 100  # 20-30 dB above the surroundings
    assert 0.5 < t[strong].sum() / t.sum() < 0.9
    assert sar.estimate_looks(img) == pytest.approx(4.4, rel=0.05)


@pytest.mark.parametrize("looks", [1.0, 4.4])
def test_median_bias_matches_gamma_median(looks):
    """Median filter of pure speckle: the mean drops to the gamma median, ~1 - 1/(3L)."""
    rng = np.random.default_rng(0)
    img = xr.DataArray(
        rng.gamma(looks, 1 / looks, (300, 300)).astype("f4"), dims=("y", "x"), attrs={"units": "1"}
    )
    ratio = metrics.mean_ratio(sar.median(img), img)
    exact = stats.gamma(looks, scale=1 / looks).median()  # ln 2 = 0.693 for one look
    assert ratio == pytest.approx(exact, abs=0.01)
    assert exact == pytest.approx(1 - 1 / (3 * looks) + 8 / (405 * looks**2), abs=0.01)
