"""Option vocabularies of ``eoxr.io`` (one place) and their validation."""

from __future__ import annotations

from typing import Any, Literal, get_args

from ..errors import ParameterError

Stack = Literal["time", "band"]
Resampling = Literal[
    "nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average", "mode", "min", "max",
    "med", "q1", "q3", "sum", "rms",
]  # fmt: skip
Resolution = Literal["finest", "coarsest"]
Compression = Literal[
    "NONE", "DEFLATE", "LZW", "ZSTD", "LZMA", "PACKBITS", "JPEG", "WEBP", "LERC",
    "LERC_DEFLATE", "LERC_ZSTD",
]  # fmt: skip

STACKS: tuple[str, ...] = get_args(Stack)
#: rasterio ``Resampling`` members usable when bringing files onto one grid.
RESAMPLINGS: tuple[str, ...] = get_args(Resampling)
RESOLUTIONS: tuple[str, ...] = get_args(Resolution)
#: GDAL COG driver ``COMPRESS`` values.
COMPRESSIONS: tuple[str, ...] = get_args(Compression)
#: Zarr store formats xarray writes.
ZARR_FORMATS: tuple[int, ...] = (2, 3)


def check_choice(value: Any, valid: tuple, name: str, *, case: bool = True) -> Any:
    """Return ``value`` (as spelled in ``valid``) if it is one of ``valid``, else raise.

    Parameters
    ----------
    value : object
        The argument as given.
    valid : tuple
        The allowed values.
    name : str
        The parameter name, for the message.
    case : bool
        Compare strings case-sensitively; ``False`` accepts ``"deflate"`` for ``"DEFLATE"``.

    Returns
    -------
    object
        The matching entry of ``valid``.

    Raises
    ------
    ParameterError
        ``value`` is not allowed; the message lists the valid values.

    Examples
    --------
    >>> check_choice("deflate", COMPRESSIONS, "compress", case=False)
    'DEFLATE'
    """
    for v in valid:
        if isinstance(v, str) != isinstance(value, str) or isinstance(value, bool):
            continue
        if v == value or (not case and isinstance(v, str) and v.upper() == value.upper()):
            return v
    raise ParameterError(f"{name}={value!r} is not valid; choose one of {list(valid)}.")


__all__ = [
    "Stack", "Resampling", "Resolution", "Compression", "STACKS", "RESAMPLINGS", "RESOLUTIONS",
    "COMPRESSIONS", "ZARR_FORMATS", "check_choice",
]  # fmt: skip
