"""Whole-scene mean preservation of every speckle filter, on real and synthetic scenes.

The ratio ``mean(filtered) / mean(input)`` in linear power over the whole scene (measured on
this branch; Camargue: whole scene and its four quadrants, looks estimated; urban flood: seed 1
at 1, 2 and 4.4 looks; corr1: spatially correlated single-look speckle, homogeneous, looks
estimated):

=============  ===============  ===================  ======
filter         Camargue + quad  urban flood 1/2/4.4  corr1
=============  ===============  ===================  ======
boxcar         1.000            1.000                0.996
median         0.895-0.919      0.17-0.24            0.74
lee            0.987-0.992      1.000                0.993
kuan           0.989-0.992      1.000                0.994
enhanced_lee   0.985-0.992      1.000                0.991
gamma_map      0.971-0.979      0.990-0.996          0.951
frost          0.988-0.992      1.000                0.994
refined_lee    0.994-1.001      0.969-0.987          0.979
lee_sigma      0.976-0.981      0.976-1.008          0.967
=============  ===============  ===================  ======

Refined Lee before its window was chosen on amplitudes (see
:func:`eoxr.sar._kernels_refined.refined_lee_filter`): 0.976-0.984 on Camargue, 0.961-0.985 on
the urban flood scenes, 0.948 on corr1. On corr1 gamma_map (the MAP bias) and lee_sigma (its
a priori mean from nine correlated samples) lose more than the 3.5 % bound: not asserted here,
stated in :mod:`eoxr.sar.speckle` and the README.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from eoxr import metrics, sar
from eoxr.sar.speckle import ADAPTIVE

# the float64 reference lives next to this file (tests use --import-mode=importlib)
_spec = importlib.util.spec_from_file_location(
    "sar_reference", Path(__file__).with_name("sar_reference.py")
)
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)

ALL = ["boxcar", "median", *ADAPTIVE]


def camargue(shared_data):
    import rioxarray

    tif = next((shared_data / "s1_camargue_vv_db").glob("*.tif"))
    da = rioxarray.open_rasterio(tif).squeeze("band", drop=True)
    return da.assign_attrs(units="dB")


def part(da, region):
    """The whole scene or one of its quadrants (held out from each other)."""
    if region == "whole":
        return da
    h, w = da.sizes["y"] // 2, da.sizes["x"] // 2
    ys = slice(0, h) if region[0] == "n" else slice(h, None)
    xs = slice(0, w) if region[1] == "w" else slice(w, None)
    return da.isel(y=ys, x=xs)


#: the bound every adaptive filter is held to (README, SAR row)
BOUND = 0.035


@pytest.mark.parametrize("region", ["whole", "nw", "ne", "sw", "se"])
@pytest.mark.parametrize("name", ALL)
def test_whole_scene_mean_on_real_camargue(name, region, shared_data):
    da = part(camargue(shared_data), region)
    ratio = metrics.mean_ratio(getattr(sar, name)(da), da)  # looks estimated (~4.4)
    if name == "boxcar":
        assert ratio == pytest.approx(1.0, abs=2e-3)
    elif name == "median":
        assert 0.85 < ratio < 0.95  # the median of speckle lies below its mean
    else:
        assert abs(ratio - 1) < BOUND, (name, region, ratio)


@pytest.mark.parametrize("looks", [1.0, 2.0, 4.4])
@pytest.mark.parametrize("name", ALL)
def test_whole_scene_mean_on_urban_flood(name, looks, urban_flood_scene, urban_flood_looks):
    img, truth, strong = urban_flood_scene if looks == 4.4 else urban_flood_looks(looks)
    out = getattr(sar, name)(img, looks=looks)
    ratio = metrics.mean_ratio(out, img)
    if name == "boxcar":
        assert ratio == pytest.approx(1.0, abs=2e-3)
    elif name == "median":  # point targets narrower than half the window vanish
        assert ratio < 0.5
    else:
        assert abs(ratio - 1) < BOUND, (name, looks, ratio)
        # the strong scatterers themselves keep their power
        kept = float(out.values[strong].sum() / img.values[strong].sum())
        assert kept > 0.9, (name, kept)


def correlated_speckle(looks: int, seed: int = 0, shape=(192, 192)) -> xr.DataArray:
    """Homogeneous speckle with the spatial correlation of real data (a smoothed complex PSF)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    acc = np.zeros(shape)
    for _ in range(looks):
        re, im = (ndimage.gaussian_filter(rng.normal(size=shape), 1.0) for _ in range(2))
        acc += re**2 + im**2
    return xr.DataArray((acc / acc.mean()).astype("f4"), dims=("y", "x"), attrs={"units": "1"})


@pytest.mark.parametrize(("looks", "bound"), [(1, 0.035), (4, 0.01)])
def test_refined_lee_window_choice_on_amplitudes_keeps_the_speckle_mean(looks, bound):
    """The cause of refined Lee's loss: the side of the edge chosen on intensities.

    On homogeneous, spatially correlated speckle (as in multilooked GRD data) the rule "the
    side whose 3x3 mean is nearer to the centre's", taken on intensities (as written in Lee et
    al. 1999), sends noisy centres to the darker side; taken on amplitudes (what eoxr does) far
    less. The intensity rule is run from the reference implementation to keep it visible
    (measured on 64x64: 0.925 vs 0.967 at one look, 0.979 vs 0.992 at four).
    """
    img = correlated_speckle(looks)
    ratio = metrics.mean_ratio(sar.refined_lee(img), img)  # 0.979 at one look, 0.994 at four
    assert abs(ratio - 1) < bound, ratio
    small = img.isel(y=slice(0, 64), x=slice(0, 64))
    L, v = float(sar.estimate_looks(small)), small.values
    on_intensity = _ref.filter_ref(v, "refined_lee", 7, L, scale="intensity").mean() / v.mean()
    on_amplitude = _ref.filter_ref(v, "refined_lee", 7, L).mean() / v.mean()
    assert on_intensity < on_amplitude - 0.01 < 1


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
