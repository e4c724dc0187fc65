"""A cube's bands, sensor and radiometry, resolved once per verb into one immutable value.

A verb calls :func:`resolve_cube` once and passes the :class:`ResolvedBands` it returns down to its
helpers, which read labels, dims, sensor and radiometry from it instead of from the cube again.
The sensor comes from every clue :func:`eoxr.bands.resolve_sensor` reads (a declaration,
``platform`` and product IDs in the attrs, the band set); where the labels fit several sensors
with different meanings, :meth:`ResolvedBands.label` finds nothing and the caller asks
(:func:`eoxr.bands.resolve_band` raises the same error it always did). Resolving a DataArray
never raises: what cannot be known is left for the helper that needs it to report (a Dataset
without spatial dims raises :class:`~eoxr.errors.DimensionError`, as every band function does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import xarray as xr

from ._bandtable import Cube, band_labels, candidates, label_mapping, labels_of
from ._dims import find_band_dim, find_spatial_dims
from ._sensors import SensorResolution, resolve_sensor
from .errors import UnitsError
from .radiometry import Kind, Scaling, kind_of, scaling_of


@dataclass(frozen=True)
class ResolvedBands:
    """What a verb needs to know about its cube's bands, read from the cube once.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> rb = resolve_cube(et.make_cube(bands=["B04", "B08"], dtype="uint16", times=None))
    >>> rb.labels, rb.sensor, rb.kind, rb.label("nir"), rb.product().scale
    (('B04', 'B08'), 'sentinel-2', 'dn', 'B08', 0.0001)
    """

    #: The cube's own band labels, in order (:func:`eoxr.bands.band_labels`).
    labels: tuple[str, ...]
    #: The band dimension of a DataArray (``None``: a Dataset, or no band dim).
    band_dim: str | None
    #: The ``(y, x)`` dimension names (``None``: none found; ``spatial_dims`` says why).
    spatial: tuple[str, str] | None
    #: What the clues say about the sensor (``sensors.sensor`` reads the labels).
    sensors: SensorResolution
    #: Canonical common name -> label, read with the sensor (empty when ambiguous).
    mapping: Mapping[str, str]
    #: What the numbers are (:func:`eoxr.radiometry.classify`).
    kind: Kind
    #: The product's DN -> reflectance scaling, for digital numbers (else ``None``).
    scaling: Scaling | None = None
    #: Why the scaling of digital numbers cannot be known, raised by :meth:`product`.
    scaling_error: UnitsError | None = None

    @property
    def sensor(self) -> str | None:
        """The band table the labels are read with (``None``: plain names, or ambiguous)."""
        return self.sensors.sensor

    def label(self, name: str) -> str | None:
        """The cube's label for ``name`` (label, common name, alias, ASI symbol), else ``None``.

        ``None`` also when the labels are ambiguous: :func:`eoxr.bands.resolve_band` on the
        cube then raises the error that says which sensors and how to declare one.
        """
        if name in self.labels:
            return name
        if self.sensors.ambiguous:
            return None
        cands = candidates(name, self.sensors.sensor)
        return next((self.mapping[c] for c in cands if c in self.mapping), None)

    def product(self) -> Scaling | None:
        """The DN scaling of the product (raises the :class:`UnitsError` resolving met)."""
        if self.scaling_error is not None:
            raise self.scaling_error
        return self.scaling

    def select(self, labels: Sequence[str]) -> ResolvedBands:
        """The value of the cube reduced to the bands ``labels`` (same sensor and radiometry).

        The sensor stays the one all of the cube's clues gave: the bands come from that product.
        """
        return replace(self, labels=tuple(labels), mapping=_mapping(labels, self.sensors))

    def as_reflectance(self) -> ResolvedBands:
        """The value of the cube once converted to reflectance (same bands and sensor)."""
        if self.kind != "dn":
            return self
        return replace(self, kind="reflectance", scaling=None, scaling_error=None)


def _mapping(labels: Sequence[str], res: SensorResolution) -> Mapping[str, str]:
    """Common name -> label, read-only (empty when the labels are ambiguous)."""
    return MappingProxyType({} if res.ambiguous else label_mapping(labels, res.sensor))


def resolve_cube(cube: Cube) -> ResolvedBands:
    """Resolve a cube's labels, dims, sensor and radiometry once (nothing is computed).

    Parameters
    ----------
    cube : DataArray or Dataset
        The verb's cube.

    Returns
    -------
    ResolvedBands
        Frozen; pass it down instead of the questions it answers.
    """
    if isinstance(cube, xr.DataArray):
        bdim = find_band_dim(cube.dims)
        labels = labels_of(None if bdim is None else cube[bdim].values, cube.name)
        res = resolve_sensor(labels, cube.attrs)  # a DataArray's clues are its attrs
    else:  # a Dataset's variables hold clues too; no spatial dims raise as everywhere
        bdim, labels, res = None, band_labels(cube), resolve_sensor(cube)
    kind = kind_of(cube, labels, lambda: res.sensor)
    scaling, error = None, None
    if kind == "dn":
        try:
            scaling = scaling_of(cube, labels, res.sensor, res.candidates)
        except UnitsError as exc:
            error = exc
    return ResolvedBands(
        labels=tuple(labels),
        band_dim=bdim,
        spatial=find_spatial_dims(cube.dims),
        sensors=res,
        mapping=_mapping(labels, res),
        kind=kind,
        scaling=scaling,
        scaling_error=error,
    )


__all__ = ["ResolvedBands", "resolve_cube"]
