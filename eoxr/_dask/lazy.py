"""Lazy values shared by a graph: one key for a model, lazy calls on lazy statistics.

:func:`shared` and :func:`delayed` put an object or a call into the graph once, however many
tasks read it; :func:`lazy_call` keeps a function of lazy partial results (e.g. a threshold read
from histogram counts) in the graph; :func:`load_metadata` reads a small lazy coordinate back
without a pass over the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np


def shared(obj: Any, *, lazy: bool = True) -> Any:
    """Wrap ``obj`` (a model, an estimator) so that a dask graph ships it to workers once.

    Every task that takes the returned object refers to a single graph key instead of embedding
    a pickled copy per task. ``lazy=False`` (numpy input) returns ``obj`` itself.
    """
    return dask.delayed(obj, pure=True) if lazy else obj


def delayed(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``dask.delayed(func, pure=True)(*args, **kwargs)``: a shared lazy result (one graph key)."""
    return dask.delayed(func, pure=True)(*args, **kwargs)


def lazy_call(
    func: Callable[..., Any], *args: Any, shape: tuple[int, ...] = (), dtype: Any = np.float64
) -> Any:
    """``func(*args)`` as a lazy array of ``shape`` when an argument holds dask arrays.

    Dask arrays among ``args`` (also inside lists/tuples) reach ``func`` whole, as numpy arrays,
    so a global statistic read from lazy partial results (e.g. histogram counts) stays in the
    graph and can feed a kernel (as a ``kwargs`` value of
    :func:`eoxr._dask.overlap.map_overlap`) without computing at call time. Without dask arrays
    ``func`` runs now and its result is returned as numpy.

    Each dask argument joins the task on its own keys, unoptimised: ``dask.delayed`` would
    optimise (and so rename) every argument's graph on its own, and two consumers of one lazy
    statistic would each recompute it. The graph is optimised once, when the result is computed.
    """
    if not any(dask.is_dask_collection(a) for a in _flat(args)):
        return np.asarray(func(*args), dtype=dtype)
    value = dask.delayed(func, pure=True)(*(_as_delayed(a) for a in args))
    return dsa.from_delayed(value, shape=shape, dtype=dtype)


def _flat(args: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for a in args:
        out.extend(_flat(a) if isinstance(a, list | tuple) else [a])
    return out


def _as_delayed(a: Any) -> Any:
    if isinstance(a, list | tuple):
        return type(a)(_as_delayed(v) for v in a)
    if isinstance(a, dsa.Array):
        return a.rechunk(a.shape).to_delayed(optimize_graph=False).reshape(-1)[0]
    return a


def load_metadata(a: Any) -> np.ndarray:
    """A small coordinate (band wavelengths, a ``bbl`` list) as numpy, loaded synchronously.

    ``.chunk()`` also chunks non-index coordinates; reading one back is not a pass over the
    data, so it goes through the synchronous scheduler, outside progress bars and compute counts.
    """
    a = getattr(a, "data", a)
    if isinstance(a, dsa.Array):
        return np.asarray(a.compute(scheduler="sync"))
    return np.asarray(a)
