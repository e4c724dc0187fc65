"""Importing eoxr.plot changes no global state; the first view sets the resources views need.

Each check runs in a fresh interpreter (the test process has long loaded holoviews' backends).
The state compared: holoviews' backends, renderers, extension flags and hooks; every Panel
config parameter and preprocessing hook; every bokeh setting and bokeh's output state; whether
``.hvplot`` is registered on xarray objects.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import require

require("holoviews", extra="viz")
require("hvplot", extra="viz")

STATE = """\
import json, sys
import bokeh.io.state, bokeh.settings, holoviews as hv, panel as pn, xarray as xr
from bokeh.settings import PrioritizedSetting


def bokeh_settings():
    out = {}
    for name in dir(type(bokeh.settings.settings)):
        if isinstance(getattr(type(bokeh.settings.settings), name), PrioritizedSetting):
            try:
                out[name] = repr(getattr(bokeh.settings.settings, name)())
            except Exception as err:  # a setting without a value raises
                out[name] = type(err).__name__
    return out


def panel_config():
    out = {}
    for name in sorted(pn.config.param):
        name = name.lstrip("_")  # `inline`, `comms`...: properties over `_inline`, `_comms`
        try:
            out[name] = repr(getattr(pn.config, name))
        except Exception as err:
            out[name] = type(err).__name__
    return out


def state():
    now = bokeh.io.state.curstate()
    return {
        "current_backend": hv.Store.current_backend,
        "loaded_backends": sorted(hv.Store.loaded_backends()),
        "renderers": sorted(hv.Store.renderers),
        "extension_loaded": getattr(hv.extension, "_loaded", None),
        "extension_inline": repr(getattr(hv.extension, "inline", None)),
        "display_formats": list(hv.Store.display_formats),
        "backend_switch_hooks": len(hv.Store._backend_switch_hooks),
        "panel_config": panel_config(),
        "panel_hooks": [repr(h) for h in pn.viewable.Viewable._preprocessing_hooks],
        "bokeh_settings": bokeh_settings(),
        "bokeh_output": [now.notebook, repr(now.notebook_type), repr(now.file)],
        "hvplot_accessor": [hasattr(xr.DataArray, "hvplot"), hasattr(xr.Dataset, "hvplot")],
        "hvplot_xarray_imported": "hvplot.xarray" in sys.modules,
    }
"""


def _run(code: str) -> object:
    out = subprocess.run(
        [sys.executable, "-c", STATE + code], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_changes_no_global_state():
    before, after = _run("before = state()\nimport eoxr.plot\nprint(json.dumps([before, state()]))")
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert changed == {}
    assert before["loaded_backends"] == [] and before["hvplot_accessor"] == [False, False]


def test_first_view_sets_the_resources_once():
    before, first, second = _run(
        "import eoxr.plot as ep, eoxr.testing as et\n"
        "before = state()\n"
        "layer = et.make_cube(bands=['B04'], ny=4, nx=4, times=None).isel(band=0)\n"
        "ep.image(layer)\n"
        "first = state()\n"
        "ep.image(layer); ep.extension()\n"
        "print(json.dumps([before, first, state()]))"
    )
    assert before["loaded_backends"] == []
    assert first["current_backend"] == "bokeh" and "bokeh" in first["loaded_backends"]
    assert first["extension_inline"] == "True"  # bokeh's JavaScript inlined in notebooks
    assert first["panel_config"]["inline"] == "True"
    hooks = [h for h in first["panel_hooks"] if "inline_stylesheets" in h]
    assert len(hooks) == 1 and hooks not in before["panel_hooks"]
    assert first["hvplot_accessor"] == [True, True]
    assert second == first  # a second view, and extension() again, change nothing


def test_extension_before_any_view_registers_hvplot():
    got = _run(
        "import eoxr.plot as ep\n"
        "ep.extension()\n"
        "import xarray as xr\n"
        "print(json.dumps(type(xr.DataArray([1.0, 2.0], name='v').hvplot.line()).__name__))"
    )
    assert got == "Curve"
