"""Progress feedback for long computations: ``with eoxr.progress(): ...`` and :func:`track`.

Progress is shown only where someone can see it: in a terminal or a Jupyter kernel, unless the
environment variable ``EOXR_PROGRESS`` is ``0``; ``progress=True`` forces it and ``False``
silences it (the same rule as the ``progress=`` option of eoxr's writers and fits).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from ._dask.progress import progress_context, want_progress

T = TypeVar("T")


@contextlib.contextmanager
def progress(enabled: bool | None = None) -> Iterator[None]:
    """Show a progress bar for every dask computation run inside the block.

    With an active ``distributed`` client the computations run through it behind distributed's
    progress bar; otherwise dask's local ``ProgressBar`` is used. eoxr's own bars are silenced
    inside the block (the outer bar already covers them).

    Parameters
    ----------
    enabled : bool, optional
        ``None``: only in a terminal or a notebook and when ``EOXR_PROGRESS`` is not ``0``;
        ``True``: always; ``False``: never.

    Examples
    --------
    >>> import eoxr, eoxr.testing as et
    >>> cube = et.make_cube().chunk({"x": 8})
    >>> with eoxr.progress(False):
    ...     total = float(cube.sum())
    """
    ctx = progress_context(enabled)
    saved = os.environ.get("EOXR_PROGRESS")
    # The outer bar covers eoxr's inner computations: one bar, not one per compute.
    os.environ["EOXR_PROGRESS"] = "0"
    try:
        with ctx:
            yield
    finally:
        if saved is None:
            os.environ.pop("EOXR_PROGRESS", None)
        else:
            os.environ["EOXR_PROGRESS"] = saved


def track(
    items: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    progress: bool | None = None,
) -> Iterator[T]:
    """Count a loop run in this process (e.g. over patches) on one stderr line, same rule.

    A dependency-free bar (``desc: 12/40 [30%]``) that redraws at most every 0.2 s.

    Examples
    --------
    >>> from eoxr.progress import track
    >>> sum(track(range(4), desc="patches", progress=False))
    6
    """
    show = want_progress(progress)
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    last = 0.0
    i = 0
    for i, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if show and (now - last > 0.2 or i == total):
            last = now
            pct = f" [{100 * i / total:.0f}%]" if total else ""
            sys.stderr.write(f"\r{desc}: {i}/{total or '?'}{pct}")
            sys.stderr.flush()
    if show and i:
        sys.stderr.write("\n")


__all__ = ["progress", "track"]
