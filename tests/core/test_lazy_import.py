"""``import eoxr`` loads the topic packages on first use (SPEC 1), and nothing else changes.

Each check runs in a fresh interpreter: the test process has imported everything already.
No timing is asserted here (``benchmarks/import_time.py`` measures it).
"""

import json
import subprocess
import sys

import pytest

#: Topic packages that ``import eoxr`` must not import (each pulls numba, zarr, torch...).
HEAVY = (
    "eoxr.change",
    "eoxr.embed",
    "eoxr.plot",
    "eoxr.indices",
    "eoxr.io",
    "eoxr.sar",
    "eoxr.hsi",
    "eoxr.ml",
    "eoxr.prep",
    "eoxr.datasets",
    "eoxr.testing",
    "zarr",
    "numba",
)


def _run(code: str) -> object:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_eoxr_does_not_import_the_topic_packages():
    loaded = _run(
        "import json, sys, eoxr, xarray as xr; "
        f"print(json.dumps([[m for m in {HEAVY!r} if m in sys.modules], "
        "hasattr(xr.DataArray, 'eo') and hasattr(xr.Dataset, 'eo')]))"
    )
    assert loaded == [[], True]


@pytest.mark.parametrize(
    "attr", ["change.cva", "embed.encoder", "plot.swipe", "indices.catalog", "io.load_stac"]
)
def test_submodule_attribute_after_plain_import(attr):
    module, name = attr.split(".")
    got = _run(
        "import json, eoxr; "
        f"f = eoxr.{attr}; "
        f"print(json.dumps([f.__module__.startswith('eoxr.{module}'), f.__name__]))"
    )
    assert got == [True, name]


def test_every_public_name_imports_and_dir_lists_the_lazy_ones():
    got = _run(
        "import json, eoxr\n"
        "missing = []\n"
        "for name in eoxr.__all__:\n"
        "    try:\n"
        "        exec(f'from eoxr import {name}')\n"
        "    except ImportError:\n"
        "        missing.append(name)\n"
        "print(json.dumps([missing, sorted(set(eoxr.__all__) - set(dir(eoxr))),\n"
        "    all(n in dir(eoxr) for n in ('change', 'embed', 'plot', 'indices')),\n"
        "    eoxr.load_stac is eoxr.io.load_stac, callable(eoxr.batch), callable(eoxr.progress)]))"
    )
    assert got == [[], [], True, True, True, True]


def test_unknown_attribute_is_an_attribute_error():
    import eoxr

    with pytest.raises(AttributeError, match="no attribute 'chnage'"):
        eoxr.chnage  # noqa: B018
