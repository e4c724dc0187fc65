"""The ``.eo`` accessor on DataArray and Dataset.

It holds the object and nothing else: every method is a plain function of a topic module, bound
here by name and imported on first use (so ``import eoxr`` stays light and the method's help is
the function's own docstring, with the cube left out of its signature).

One list of verbs serves both accessors. Each line says which kind of object the verb works on
(``on="both" | "dataarray" | "dataset"``); a verb is offered (attribute, ``dir()``, tab
completion) only on the kind it works on, and asking the other kind raises an
:class:`~eoxr.errors.AccessorError` (an ``AttributeError``) that says how to convert.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Literal

import xarray as xr

from ._registry import resolve
from .errors import AccessorError

On = Literal["both", "dataarray", "dataset"]
_KINDS = ("both", "dataarray", "dataset")
_HINTS = {
    "dataarray": "select a variable (`ds['vv']`) or stack the bands with `ds.eo.to_array()`",
    "dataset": "convert with `da.eo.to_dataset()` (one variable per band)",
}


class _Method:
    """Bind ``"module:function"`` as a method whose first argument is the accessor's object."""

    def __init__(
        self, target: str, *, on: On = "dataarray", prop: bool = False, hint: str = ""
    ) -> None:
        if on not in _KINDS:
            raise ValueError(f"on={on!r}; expected one of {_KINDS}")
        self.target = target
        self.on = on
        self.prop = prop
        self.hint = hint

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def applies_to(self, kind: str) -> bool:
        """Whether the verb is offered on ``kind`` (``"dataarray"`` or ``"dataset"``)."""
        return self.on in ("both", kind)

    def __get__(self, acc: _EOAccessor | None, owner: type) -> Any:
        kind = owner._kind
        if kind is not None and not self.applies_to(kind):
            here, there = (
                ("Dataset", "DataArray") if kind == "dataset" else ("DataArray", "Dataset")
            )
            raise AccessorError(
                f"`{self.name}` works on a {there}, not a {here}; {self.hint or _HINTS[self.on]}."
            )
        func = resolve(self.target)
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


def _offered(cls: type, names: list[str]) -> list[str]:
    """``names`` without the verbs that ``cls`` does not offer."""
    kind = cls._kind
    return [
        name
        for name in names
        if not isinstance(verb := inspect.getattr_static(cls, name, None), _Method)
        or kind is None
        or verb.applies_to(kind)
    ]


class _AccessorType(type):
    """Lists only the offered verbs in ``dir()`` of the class too (used by ``help()``)."""

    def __dir__(cls) -> list[str]:
        return _offered(cls, super().__dir__())


class _EOAccessor(metaclass=_AccessorType):
    """Earth-observation methods on xarray objects: ``cube.eo.<verb>(...)``."""

    _kind: str | None = None  # "dataarray" or "dataset" on the registered subclasses

    def __init__(self, obj: xr.DataArray | xr.Dataset) -> None:
        self._obj = obj

    def __dir__(self) -> list[str]:
        return _offered(type(self), super().__dir__())

    @classmethod
    def _verbs(cls) -> dict[str, _Method]:
        """The verbs offered on this kind of object, by name."""
        out = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, _Method) and (cls._kind is None or attr.applies_to(cls._kind)):
                    out[name] = attr
        return out

    # --- bands (eoxr.bands)
    bands = _Method("eoxr.bands:band_mapping", on="both", prop=True)
    sensor = _Method("eoxr.bands:detect_sensor", on="both", prop=True)
    band = _Method("eoxr.bands:select_band", on="both")
    to_array = _Method("eoxr.bands:to_array", on="both")
    to_dataset = _Method("eoxr.bands:to_dataset", on="both")
    rename_to_common = _Method("eoxr.bands:rename_to_common", on="both")
    declare_sensor = _Method("eoxr.bands:declare_sensor", on="both")

    # --- preparation (eoxr.prep)
    mask_clouds = _Method("eoxr.prep.masking:mask_clouds", on="both")
    to_reflectance = _Method("eoxr.radiometry:to_reflectance", on="both")
    composite = _Method("eoxr.prep.composite:composite", on="both")

    # --- writing (eoxr.io)
    to_cog = _Method("eoxr.io.write_cog:to_cog", on="both")
    to_zarr = _Method("eoxr.io.write_zarr:to_zarr", on="both")

    # --- denoising shared by SAR and hyperspectral (eoxr.denoise)
    denoise = _Method("eoxr.denoise:denoise", on="both")

    # --- spectral indices (eoxr.indices)  [issue: spectral indices]
    index = _Method("eoxr.indices:index", on="both")
    indices = _Method("eoxr.indices:indices", on="both")

    # --- SAR (eoxr.sar)  [issue: SAR]
    to_db = _Method("eoxr.sar.convert:to_db", on="both")
    to_linear = _Method("eoxr.sar.convert:to_linear", on="both")
    multilook = _Method("eoxr.sar.multilook:multilook", on="both")
    estimate_looks = _Method("eoxr.sar.looks:estimate_looks")
    dual_pol_ratio = _Method("eoxr.sar.polarimetry:dual_pol_ratio", on="both")
    dual_pol_rvi = _Method("eoxr.sar.polarimetry:dual_pol_rvi", on="both")

    # --- hyperspectral (eoxr.hsi)  [issue: hyperspectral]
    estimate_noise = _Method("eoxr.hsi.noise:estimate_noise")
    find_bad_bands = _Method("eoxr.hsi.noise:find_bad_bands")
    destripe = _Method("eoxr.hsi.stripes:destripe")
    find_dead_pixels = _Method("eoxr.hsi.deadpix:find_dead_pixels")
    repair_dead_pixels = _Method("eoxr.hsi.deadpix:repair_dead_pixels")

    # --- models (eoxr.ml)  [issue: model application]
    apply_model = _Method("eoxr.ml.apply:apply_model", on="both")
    fit = _Method("eoxr.ml.sklearn:fit", on="both")
    sample = _Method("eoxr.ml.vector:sample", on="both")
    zonal_stats = _Method("eoxr.ml.vector:zonal_stats", on="both")
    rasterize = _Method("eoxr.ml.vector:rasterize", on="both")
    batches = _Method("eoxr.ml.batches:batches", on="both")

    # --- embeddings (eoxr.embed)  [issue: embeddings and pretrained models]
    embed = _Method("eoxr.embed.patches:embed", on="both")
    similarity = _Method("eoxr.embed.analysis:similarity")
    kmeans = _Method("eoxr.embed.analysis:kmeans")
    pca = _Method("eoxr.embed.analysis:pca")
    zonal = _Method("eoxr.embed.vector:zonal")
    to_geoparquet = _Method("eoxr.embed.vector:to_geoparquet")
    cloud_mask_csmask = _Method("eoxr.prep.csmask:csmask", on="both")

    # --- change detection (eoxr.change)  [issue: change detection]
    change = _Method("eoxr.change.detect:change", on="both")
    change_omnibus = _Method("eoxr.change.omnibus:change_omnibus", on="both")
    bfast_monitor = _Method("eoxr.change.bfast:bfast_monitor", on="both")
    vectorize = _Method("eoxr.change.vectorize:vectorize")

    # --- views (eoxr.plot)  [issue: interactive exploration]
    plot_rgb = _Method("eoxr.plot:plot_rgb", on="both")
    explore = _Method("eoxr.plot:explore", on="both")
    plot_spectra = _Method("eoxr.plot:plot_spectra")


@xr.register_dataarray_accessor("eo")
class EODataArrayAccessor(_EOAccessor):
    """Earth-observation methods on a DataArray: ``da.eo.<verb>(...)``."""

    _kind = "dataarray"


@xr.register_dataset_accessor("eo")
class EODatasetAccessor(_EOAccessor):
    """Earth-observation methods on a Dataset: ``ds.eo.<verb>(...)``."""

    _kind = "dataset"


__all__ = ["EODataArrayAccessor", "EODatasetAccessor"]
