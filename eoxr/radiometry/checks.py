"""The in-graph value check: what each block's numbers are, checked when it is computed.

A block whose typical value is in the thousands is not reflectance, one whose typical value is
below 2 is not digital numbers (:func:`check_block`, :func:`checked`). It raises
:class:`~eoxr.errors.UnitsError` when the block is computed, so verbs stay lazy.

The check reads a strided sample of a block (about 16 rows, every 4th column; all of it when the
sample holds no positive value) and compares the *median* of its positive values with the limits
(by counting, not sorting), so one saturated pixel or a fill value does not trip it, and it costs
microseconds per block.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._dask.blockwise import map_blocks
from ..errors import UnitsError

#: A block whose median positive value exceeds this is not reflectance (DN are in the 100s+).
REFLECTANCE_LIMIT = 10.0
#: A block whose median positive value is at most this is not digital numbers.
DN_LIMIT = 2.0
#: The value check reads about ``_STRIDE`` rows of a block, every ``_COL_STRIDE``-th column.
_STRIDE = 16
_COL_STRIDE = 4


def _sample(block: np.ndarray) -> np.ndarray:
    """A strided view of about 16 rows x 1/4 of the columns of ``block`` (no copy)."""
    if block.ndim < 2:
        return block[::_COL_STRIDE]
    step = max(_STRIDE, block.shape[-2] // _STRIDE)
    return block[..., ::step, ::_COL_STRIDE]


def typical_value(block: np.ndarray) -> float:
    """Median of the positive finite values of a sample of ``block`` (all of it if none).

    ``nan`` when the block holds no positive value (nodata, all zero): nothing can be told.
    """
    for part in (_sample(block), block):
        pos = part[(part > 0) & (part < np.inf)]
        if pos.size:
            return float(np.median(pos))
    return float("nan")


def _contradicts(block: np.ndarray, expect: str) -> bool:
    """Whether most positive values of a sample of ``block`` contradict ``expect``.

    Counting, not sorting: ``median > limit`` is ``more than half the values > limit``. The
    sample is a strided view (about 16 rows, every 4th column), so the check costs a few
    microseconds per block; the whole block is read only when the sample has no positive value.
    """
    for part in (_sample(block), block):
        n = np.count_nonzero(part > 0)
        if n:
            if expect == "dB":
                # backscatter in dB is mostly negative (sigma0 < 1); linear power never is
                return not np.count_nonzero(part < 0) and 2 * np.count_nonzero(part <= 1.5) > n
            if expect == "reflectance":
                return 2 * np.count_nonzero(part > REFLECTANCE_LIMIT) > n
            return 2 * np.count_nonzero((part > 0) & (part <= DN_LIMIT)) > n
    return False


def check_block(block: np.ndarray, *, expect: str, what: str, fix: str = "") -> None:
    """Raise :class:`~eoxr.errors.UnitsError` when a block's values contradict ``expect``.

    ``expect="reflectance"``: the typical value (median of the positive values of a sample,
    :func:`typical_value`) must not exceed :data:`REFLECTANCE_LIMIT`; ``expect="dn"``: it must
    exceed :data:`DN_LIMIT`. Integer blocks pass ``expect="dn"`` unread (integers are DN).
    """
    if not block.size or (expect == "dn" and block.dtype.kind in "iu"):
        return
    if not _contradicts(block, expect):
        return
    v = typical_value(block)
    if expect == "dB":
        raise UnitsError(
            f"{what} takes backscatter in dB but the data hold no negative value and values "
            f"around {v:.4g}: they are linear power, whatever the attrs say. "
            + (fix or "Convert them first: `cube.eo.to_db()`.")
        )
    if expect == "reflectance":
        raise UnitsError(
            f"{what} needs reflectance (about 0-1) but the data hold values around {v:.4g}: "
            "they are digital numbers, whatever the attrs say. "
            + (
                fix
                or "Convert them first: `cube.eo.to_reflectance()` (Sentinel-2, Landsat "
                "Collection 2 Level-2), or with the product's scale, e.g. "
                "`cube.eo.to_reflectance(scale=1e-4)`."
            )
        )
    raise UnitsError(
        f"{what} scales digital numbers but the data hold values around {v:.4g}: they are "
        "reflectance already (scaled by hand? xarray arithmetic keeps `units` unchanged), "
        "and scaling them again would shrink every value. "
        + (fix or "Drop scale=/offset= and set `cube.attrs['units'] = '1'`.")
    )


def _checked_block(block: np.ndarray, expect: str, what: str, fix: str) -> np.ndarray:
    check_block(block, expect=expect, what=what, fix=fix)
    return block


def checked(cube: xr.DataArray, *, expect: str, what: str, fix: str = "") -> xr.DataArray:
    """``cube`` with :func:`check_block` run on every block when it is computed (lazy).

    On numpy data the check runs now (reading a sample of the values).
    """
    kwargs = {"expect": expect, "what": what, "fix": fix}
    return cube.copy(data=map_blocks(_checked_block, cube, kwargs=kwargs))


__all__ = ["check_block", "checked", "typical_value"]
