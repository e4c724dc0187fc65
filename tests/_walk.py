"""Trace a verb for real: the eoxr modules its cube passes through (issue 21, bands resolved once).

Used by the tests that check that a verb resolves its cube's bands once
(``tests/prep/test_csmask.py``, ``tests/core/test_resolved.py``).
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import xarray as xr

import eoxr

#: The modules that know bands and dims: a verb's helpers must not hand them the cube again.
BAND_MODULES = ("bands.py", "_bandtable.py", "_sensors.py", "_dims.py", "_advice.py")
#: Packages counted as one module each where a test counts the modules a verb passes through
#: (each was one module when the issue counted them: _chunks.py, radiometry.py).
LAYERS = ("_dask/", "radiometry/")


def walk(build):
    """Run ``build()`` under a profiler: what it returns, and two counters.

    ``entered``: eoxr module -> frames that received an xarray object (the cube or one made
    from it) as an argument; ``calls``: ``(module, function)`` -> calls.
    """
    root = str(Path(eoxr.__file__).parent) + "/"
    entered: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()

    def profile(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(root):
            return
        module = frame.f_code.co_filename[len(root) :]
        calls[(module, frame.f_code.co_name)] += 1
        code = frame.f_code
        args = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        if any(isinstance(frame.f_locals.get(a), xr.DataArray | xr.Dataset) for a in args):
            entered[module] += 1

    sys.setprofile(profile)
    try:
        out = build()
    finally:
        sys.setprofile(None)
    return out, entered, calls
