"""Exception tree of eoxr.

Every error says what was found, what was expected and how to fix it. All derive from
:class:`EoxrError`, and each also derives from the builtin a caller would naturally catch
(``KeyError`` for a missing band, ``ValueError`` for bad shapes, ...).
"""

from __future__ import annotations

from collections.abc import Iterable


class EoxrError(Exception):
    """Base class of every error raised by eoxr."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""


class BandNotFoundError(EoxrError, KeyError):
    """A requested band is not in the cube.

    Attributes
    ----------
    band : str
        The name that was asked for.
    present : list of str
        The band labels the cube has.
    tried : list of str
        The aliases that were looked up.
    """

    def __init__(
        self, band: str, present: Iterable[str], tried: Iterable[str] = (), hint: str = ""
    ) -> None:
        self.band = band
        self.present = [str(p) for p in present]
        self.tried = list(dict.fromkeys(str(t) for t in tried))
        msg = (
            f"band {band!r} not found. Bands present: {self.present}; "
            f"names tried: {self.tried or [band]}."
        )
        msg += " " + (
            hint
            or "Pass one of the labels present, or relabel the band: on a DataArray the labels "
            "are band coordinate values (`cube = cube.assign_coords(band=[...])`, one per "
            "band), on a Dataset variable names (`cube = cube.rename({'B8': 'nir'})`)."
        )
        super().__init__(msg)


class DimensionError(EoxrError, ValueError):
    """The cube lacks a required dimension or has dimensions in an unusable layout."""


class GridMismatchError(EoxrError, ValueError):
    """Two inputs that must share a pixel grid (shape, coordinates, CRS) do not."""


class DataTypeError(EoxrError, TypeError):
    """The data type is unsuitable (e.g. integer digital numbers where reflectance is needed)."""


class UnitsError(EoxrError, ValueError):
    """The physical units or domain (dB / linear, reflectance / DN) cannot be told or are wrong."""


class ParameterError(EoxrError, ValueError):
    """An argument value is out of range or inconsistent with the data."""


class CatalogError(EoxrError, ValueError):
    """A catalog entry (index formula, band table, method listing) is invalid or unknown."""


class ModelError(EoxrError, RuntimeError):
    """A model raised while running on a patch or block; the message names where."""


class ReadError(EoxrError, OSError):
    """A file or STAC asset cannot be read."""


class WriteError(EoxrError, OSError):
    """An output could not be written; nothing is left under the final name."""


class AccessorError(EoxrError, AttributeError):
    """A ``.eo`` verb was asked of the wrong kind of object (a DataArray verb on a Dataset...)."""


class ClusterError(EoxrError, ConnectionError):
    """A Dask scheduler could not be reached in time (wrong address, scheduler not running)."""


__all__ = [
    "EoxrError",
    "BandNotFoundError",
    "DimensionError",
    "GridMismatchError",
    "DataTypeError",
    "UnitsError",
    "ParameterError",
    "CatalogError",
    "ModelError",
    "ReadError",
    "WriteError",
    "AccessorError",
    "ClusterError",
]


class AmbiguousBandsError(BandNotFoundError):
    """Band labels mean different bands on several sensors and no metadata says which.

    Raised instead of guessing (``SR_B4`` is red on Landsat 8/9 but NIR on Landsat 5/7). The
    message lists each candidate sensor with its meaning of the labels, and how to declare one.

    Attributes
    ----------
    labels : list of str
        The sensor-style labels whose meaning is in doubt.
    candidates : dict
        Sensor key -> {label: meaning} for every sensor still possible.
    """

    def __init__(
        self, labels: Iterable[str], candidates: dict[str, dict[str, str]], hint: str = ""
    ) -> None:
        self.labels = [str(x) for x in labels]
        self.candidates = {str(s): dict(m) for s, m in candidates.items()}
        self.band = ", ".join(self.labels)
        self.present = list(self.labels)
        self.tried: list[str] = []
        msg = (
            f"ambiguous band labels {self.labels}: they mean different bands on the sensors "
            f"{list(self.candidates)} and the cube's metadata does not settle which. "
        )
        self.hint = hint
        EoxrError.__init__(self, msg + (hint or "Declare it with eoxr.bands.declare_sensor."))

    def __reduce__(self) -> tuple:  # picklable (dask/distributed ship errors between processes)
        return (type(self), (self.labels, self.candidates, self.hint))


__all__ += ["AmbiguousBandsError"]
