"""Packaging: light import, environment files in step with pyproject, CLI."""

import re
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]
# pip name -> conda-forge name where they differ
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


def _name(req: str) -> str:
    return re.split(r"[<>=!\[ ;]", req.strip(), maxsplit=1)[0].lower()


def _pyproject_packages() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in ("ml", "hsi", "viz", "distributed"):
        reqs += meta["optional-dependencies"][extra]
    return {CONDA_NAMES.get(_name(r), _name(r)) for r in reqs}


def _conda_packages(path: Path) -> set[str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    return {_name(d) for d in deps if isinstance(d, str)} - {"python", "pip"}


def test_environment_files_match_pyproject():
    expected = _pyproject_packages()
    assert _conda_packages(ROOT / "environment.yml") == expected
    assert _conda_packages(ROOT / "binder" / "environment.yml") == expected
    assert "pip install" in (ROOT / "binder" / "postBuild").read_text()


def test_import_is_light():
    heavy = ("torch", "hvplot", "holoviews", "sklearn", "geopandas", "skimage", "xbatcher")
    code = (
        "import sys, eoxr, eoxr.testing, eoxr.datasets; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_cli_info():
    out = subprocess.run(
        [sys.executable, "-m", "eoxr", "info"], capture_output=True, text=True, check=True
    )
    assert "s2_chesapeake" in out.stdout and "landsat_colorado" in out.stdout
