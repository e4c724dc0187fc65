"""What a cube's numbers are: digital numbers, reflectance, linear power or dB.

This package is the one place where eoxr decides what a cube holds. Verbs that need reflectance
(spectral indices, the csmask cloud model, encoders and models with declared preprocessing) and
verbs that need SAR linear power or dB ask it; none reads ``units`` on its own.

Attrs are a hint, not the truth: xarray arithmetic keeps or drops them without knowing what they
mean (``cube * 1e-4`` keeps ``units="DN"``). So the decision is made in two steps:

1. at call time, from dtype, ``units`` and the product metadata (:func:`classify`,
   :func:`optical_evidence`, :func:`product_scaling`), never computing anything;
2. inside the graph, a cheap check of the values each block actually holds
   (:func:`check_block`, :func:`checked`): a block whose typical value is in the thousands is
   not reflectance, one whose typical value is below 2 is not digital numbers. It raises
   :class:`~eoxr.errors.UnitsError` when the block is computed, so verbs stay lazy.

A module per idea, their public names all importable from here:

- :mod:`~eoxr.radiometry.kinds`: what a cube holds, from dtype and attrs (:func:`classify`);
- :mod:`~eoxr.radiometry.products`: the DN scaling of known products (:func:`product_scaling`)
  and the :class:`Facts` a verb resolves once;
- :mod:`~eoxr.radiometry.checks`: the in-graph value check (:func:`checked`);
- :mod:`~eoxr.radiometry.convert`: digital numbers to reflectance (:func:`to_reflectance`);
- :mod:`~eoxr.radiometry.verbs`: what the verbs ask (:func:`require_reflectance`,
  :func:`model_input`, :func:`sar_domain`).
"""

from __future__ import annotations

# Every public name of the modules, as ``eoxr.radiometry.<name>``; ``__all__`` holds the
# user-facing ones; the others (constants, Facts, the forms that take what a verb resolved
# once) serve eoxr's own modules.
from ._metadata import Cube  # noqa: F401
from .checks import DN_LIMIT, REFLECTANCE_LIMIT, check_block, checked, typical_value  # noqa: F401
from .convert import to_reflectance
from .kinds import (  # noqa: F401
    DB_UNITS,
    DIMENSIONLESS_UNITS,
    DN_UNITS,
    LINEAR_UNITS,
    REFLECTANCE_UNITS,
    Kind,
    classify,
    declared_units,
    kind_of,
    optical_evidence,
    sar_evidence,
)
from .products import (  # noqa: F401
    LANDSAT_C2_L2_OFFSET,
    LANDSAT_C2_L2_SCALE,
    S2_BASELINE_OFFSET_DN,
    S2_OFFSET_BASELINE,
    S2_OFFSET_SINCE,
    S2_QUANTIFICATION,
    Facts,
    Scaling,
    product_scaling,
    s2_baseline,
    scaling_of,
)
from .verbs import (  # noqa: F401
    as_reflectance,
    expected_input,
    for_model,
    model_input,
    require_reflectance,
    sar_domain,
)

__all__ = [
    "Kind",
    "Scaling",
    "classify",
    "optical_evidence",
    "sar_evidence",
    "declared_units",
    "product_scaling",
    "s2_baseline",
    "to_reflectance",
    "require_reflectance",
    "sar_domain",
    "expected_input",
    "model_input",
    "check_block",
    "checked",
    "typical_value",
]
