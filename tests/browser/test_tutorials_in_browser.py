"""Every tutorial, run in JupyterLab in a real (headless) browser, shows its plots.

`nbconvert --execute` only proves that the code runs: plots can still stay blank for the reader
(JavaScript from a CDN offline, a widget that fails in the page). Here JupyterLab runs on
loopback with a random token, Chromium opens each tutorial, runs all cells and waits for the
kernel to go idle; then no cell may have an error output or a warning, every cell that outputs a
plot must show a canvas with more than a few colours; a screenshot of each tutorial (and of each
plot's output) is saved under ``test-artifacts/screenshots/``.

Needs the system ``chromium`` and Playwright for Python (``.ci/run`` installs both; never
``playwright install``, which downloads a browser build). Skipped, with the reason, otherwise;
failed instead under ``EOXR_REQUIRE_DATA=1`` (as in CI).
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import CELLS_JS, KERNEL_JS, OVERRIDES

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SHOTS = ROOT / "test-artifacts" / "screenshots"
PLOT_MIME = ("application/vnd.holoviews_exec.v0+json", "application/vnd.bokehjs_exec.v0+json")
CELL_TIMEOUT_S = 600

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _colours(png: bytes) -> int:
    """Number of distinct colours in a screenshot (a blank canvas has one or two)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return len(img.getcolors(maxcolors=1 << 20) or [])


def _is_plot(output: dict) -> bool:
    """A displayed plot; the extension's loader also sends an exec stub, but without a repr."""
    data = output.get("data", {})
    return "text/plain" in data and any(m in data for m in PLOT_MIME)


# The same benign warning pyproject's pytest filterwarnings ignores: rasterio's warp reports a
# source "without geotransform" for in-memory arrays odc-stac reprojects in some GDAL builds.
BENIGN = ("NotGeoreferencedWarning",)


def _without_benign(text: str) -> str:
    """Stderr text without the warning lines (and their source line) of :data:`BENIGN`."""
    lines = text.splitlines()
    keep, skip_next = [], False
    for line in lines:
        if skip_next:
            skip_next = False
            continue
        if any(b in line for b in BENIGN):
            skip_next = True  # Python prints the offending source line after the warning
            continue
        keep.append(line)
    return "\n".join(keep)


def _problems(cells: list[dict]) -> list[str]:
    out = []
    for i, cell in enumerate(cells):
        for o in cell["outputs"]:
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            text = "".join(o.get("text", "")) if o.get("name") == "stderr" else ""
            text = _without_benign(text)
            if "Warning" in text or "Traceback" in text:
                out.append(f"cell {i} writes to stderr: {text[:300]}")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_renders_in_jupyterlab(lab, browser, path):
    url, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{url}/lab/workspaces/{uuid.uuid4().hex}/tree/{path.name}?reset&token={token}")
        page.wait_for_function(f"({KERNEL_JS})() === 'idle'", timeout=120_000)
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for the notebook
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            f"""() => {{
              const cells = ({CELLS_JS})();
              const failed = cells.some(c => c.outputs.some(o => o.output_type === 'error'));
              // after an error, Run All stops: the cells below never get an execution count
              return ({KERNEL_JS})() === 'idle' &&
                     (failed || cells.every(c => c.type !== 'code' || c.count !== null));
            }}""",
            timeout=CELL_TIMEOUT_S * 1000,
            polling=500,
        )
        cells = page.evaluate(CELLS_JS)
        problems = _problems(cells)
        plot_cells = [i for i, c in enumerate(cells) if any(map(_is_plot, c["outputs"]))]
        dom_cells = page.locator(".jp-Notebook .jp-Cell")
        first_canvas = None
        for i in plot_cells:
            canvas = dom_cells.nth(i).locator(".jp-OutputArea-output canvas").first
            try:
                canvas.wait_for(state="visible", timeout=30_000)
            except Exception:  # playwright's TimeoutError: reported below with the cell index
                problems.append(f"cell {i}: plot output without a rendered canvas")
                continue
            canvas.scroll_into_view_if_needed()
            page.wait_for_timeout(300)  # let bokeh finish painting after the scroll
            if _colours(canvas.screenshot()) < 4:
                problems.append(f"cell {i}: the plot canvas is blank")
            SHOTS.mkdir(parents=True, exist_ok=True)  # each plot as the reader sees it
            dom_cells.nth(i).locator(".jp-OutputArea-output:has(canvas)").last.screenshot(
                path=str(SHOTS / f"{path.stem}-cell{i:02d}.png")
            )
            first_canvas = first_canvas if first_canvas is not None else i
        if first_canvas is not None:
            dom_cells.nth(first_canvas).scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{path.stem}.png"))
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_binder_uses_the_tested_lab_settings():
    """Binder readers get the settings this test runs with (every cell rendered, offline)."""
    overrides = json.loads(OVERRIDES.read_text())
    assert overrides["@jupyterlab/notebook-extension:tracker"]["windowingMode"] == "none"
    assert "binder/overrides.json" in (ROOT / "binder" / "postBuild").read_text()
