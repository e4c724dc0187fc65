"""The ``.eo`` accessor on DataArray and Dataset.

It holds the object and nothing else: every method is a plain function of a topic module, bound
here by name and imported on first use (so ``import eoxr`` stays light and the method's help is
the function's own docstring).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

import xarray as xr


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class _Method:
    """Bind ``"module:function"`` as a method whose first argument is the accessor's object."""

    def __init__(self, target: str, *, prop: bool = False) -> None:
        self.target = target
        self.prop = prop

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, acc: EOAccessor | None, owner: type) -> Any:
        func = _resolve(self.target)
        if acc is None:
            return func
        if self.prop:
            return func(acc._obj)

        @functools.wraps(func)
        def method(*args: Any, **kwargs: Any) -> Any:
            return func(acc._obj, *args, **kwargs)

        sig = inspect.signature(func)
        method.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
        return method


class EOAccessor:
    """Earth-observation methods on xarray objects: ``cube.eo.<verb>(...)``."""

    def __init__(self, obj: xr.DataArray | xr.Dataset) -> None:
        self._obj = obj

    # --- bands (eoxr.bands)
    bands = _Method("eoxr.bands:band_mapping", prop=True)
    sensor = _Method("eoxr.bands:detect_sensor", prop=True)
    band = _Method("eoxr.bands:select_band")
    to_array = _Method("eoxr.bands:to_array")
    to_dataset = _Method("eoxr.bands:to_dataset")
    rename_to_common = _Method("eoxr.bands:rename_to_common")

    # --- preparation (eoxr.prep)
    mask_clouds = _Method("eoxr.prep.masking:mask_clouds")
    composite = _Method("eoxr.prep.composite:composite")

    # --- writing (eoxr.io)
    to_cog = _Method("eoxr.io.write:to_cog")
    to_zarr = _Method("eoxr.io.write:to_zarr")

    # --- denoising shared by SAR and hyperspectral (eoxr.denoise)
    denoise = _Method("eoxr.denoise:denoise")

    # --- spectral indices (eoxr.indices)  [issue: spectral indices]
    index = _Method("eoxr.indices:index")
    indices = _Method("eoxr.indices:indices")

    # --- SAR (eoxr.sar)  [issue: SAR]
    to_db = _Method("eoxr.sar.convert:to_db")
    to_linear = _Method("eoxr.sar.convert:to_linear")
    multilook = _Method("eoxr.sar.multilook:multilook")
    estimate_looks = _Method("eoxr.sar.looks:estimate_looks")
    dual_pol_ratio = _Method("eoxr.sar.polarimetry:dual_pol_ratio")
    dual_pol_rvi = _Method("eoxr.sar.polarimetry:dual_pol_rvi")

    # --- hyperspectral (eoxr.hsi)  [issue: hyperspectral]
    estimate_noise = _Method("eoxr.hsi.noise:estimate_noise")
    find_bad_bands = _Method("eoxr.hsi.noise:find_bad_bands")
    destripe = _Method("eoxr.hsi.stripes:destripe")
    find_dead_pixels = _Method("eoxr.hsi.deadpix:find_dead_pixels")
    repair_dead_pixels = _Method("eoxr.hsi.deadpix:repair_dead_pixels")

    # --- models (eoxr.ml)  [issue: model application]
    apply_model = _Method("eoxr.ml.apply:apply_model")
    fit = _Method("eoxr.ml.sklearn:fit")
    sample = _Method("eoxr.ml.vector:sample")
    zonal_stats = _Method("eoxr.ml.vector:zonal_stats")
    rasterize = _Method("eoxr.ml.vector:rasterize")
    batches = _Method("eoxr.ml.batches:batches")

    # --- change detection (eoxr.change)  [issue: change detection]
    change = _Method("eoxr.change.detect:change")
    change_omnibus = _Method("eoxr.change.omnibus:change_omnibus")
    bfast_monitor = _Method("eoxr.change.bfast:bfast_monitor")
    vectorize = _Method("eoxr.change.vectorize:vectorize")


xr.register_dataarray_accessor("eo")(EOAccessor)
xr.register_dataset_accessor("eo")(EOAccessor)
