"""The conventions of eoxr.metrics: argument order, keyword-only options, return kinds, laziness."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import xarray as xr

from eoxr import metrics
from eoxr.datasets import synthetic_s1
from eoxr.testing import make_cube

NO_REFERENCE = {"enl"}
HELPERS = {"homogeneous_mask", "compare_filters"}  # not metrics: an area, a table of metrics


@pytest.mark.parametrize("name", sorted(set(metrics.__all__) - HELPERS))
def test_signature_result_reference_then_keyword_only(name):
    params = list(inspect.signature(getattr(metrics, name)).parameters.values())
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    want = ["result"] if name in NO_REFERENCE else ["result", "reference"]
    assert positional == want
    assert all(p.kind is p.KEYWORD_ONLY for p in params[len(want) :])


def test_return_kinds_float_or_dataarray_per_slice():
    s = synthetic_s1(seed=0, shape=(40, 40), times=2)
    cube, truth = s.cube, s.truth
    img, ref = cube.isel(time=0, band=0), truth.isel(time=0, band=0)
    for f in (metrics.mean_ratio, metrics.ssi, metrics.edge_preservation_index):
        assert type(f(img, ref)) is float
        per = f(cube, truth)
        assert isinstance(per, xr.DataArray) and per.dims == ("time", "band")
        assert per.sel(time=cube.time[0], band="VV").item() == pytest.approx(f(img, ref))
    assert type(metrics.enl(img)) is float
    hsi = make_cube(times=None, ny=16, nx=16)
    for f in (metrics.mpsnr, metrics.mssim, metrics.sam, metrics.ergas):
        assert type(f(hsi + 0.01, hsi)) is float
    bands = metrics.psnr_per_band(hsi + 0.01, hsi, data_range=1.0)
    assert isinstance(bands, xr.DataArray) and bands.dims == ("band",)
    np.testing.assert_allclose(bands.values, 40.0, rtol=1e-4)
    assert metrics.mpsnr(hsi + 0.01, hsi, data_range=1.0) == pytest.approx(float(bands.mean()))


def test_lazy_inputs_give_the_same_numbers_in_one_pass():
    from dask.callbacks import Callback

    s = synthetic_s1(seed=1, shape=(48, 48), times=1)
    img, ref = s.cube.isel(time=0, band=0), s.truth.isel(time=0, band=0)

    class Count(Callback):
        n = 0

        def _start(self, dsk):
            Count.n += 1

    with Count():
        lazy = metrics.ssi(img.chunk({"y": 20}), ref.chunk({"x": 30}))
    assert Count.n == 1  # both inputs read in one evaluation
    assert lazy == pytest.approx(metrics.ssi(img, ref))
