"""The main job (`eoxr demo`) and every tutorial notebook run on the built-in data."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.slow  # the whole demo (90 s on a loaded 2-core machine): `make test-slow`
def test_demo_cli_writes_outputs(tmp_path):
    from eoxr.demo import STEPS

    out = subprocess.run(
        [sys.executable, "-m", "eoxr", "demo", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for step, _ in STEPS:
        assert f"[{step}]" in out.stdout
    files = {p.name for p in (tmp_path / "o").rglob("*")}
    assert {
        "landsat_summer2009_median.tif",
        "landsat_summer2009_median.zarr",
        "s2_chesapeake_rgb.png",
    } <= files
    assert any(n.endswith(".png") for n in files)


def test_notebooks_present():
    assert any(nb.name.startswith("01_quickstart") for nb in NOTEBOOKS)


@pytest.mark.slow  # a kernel per notebook: `make test-slow` (CI runs it)
@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_is_stored_clean(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, (
                f"{path.name} is stored with outputs: clear them before committing"
            )
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
