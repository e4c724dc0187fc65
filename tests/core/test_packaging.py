"""Packaging: light import, environment files in step with pyproject, CLI."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
# pip name -> conda-forge name where they differ
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


def _name(req: str) -> str:
    return re.split(r"[<>=!\[ ;]", req.strip(), maxsplit=1)[0].lower()


def _pyproject_packages() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = meta["optional-dependencies"]
    (everything,) = optional["all"]  # "eoxr[ml,hsi,...]": the extras a full install gets
    reqs = list(meta["dependencies"])
    for extra in everything.split("[", 1)[1].rstrip("]").split(","):
        reqs += [r for r in optional[extra] if not r.startswith("eoxr[")]
    return {CONDA_NAMES.get(_name(r), _name(r)) for r in reqs}


def _conda_packages(path: Path) -> set[str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    names = {_name(d) for d in deps if isinstance(d, str)}
    for d in deps:  # packages conda-forge lacks come from pip inside the environment
        if isinstance(d, dict):
            names |= {_name(p) for p in d.get("pip", []) if not p.startswith("-e")}
    return names - {"python", "pip"}


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


def test_version_in_one_place():
    import eoxr

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "eoxr._version.__version__"}
    from eoxr import _version

    assert eoxr.__version__ == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", eoxr.__version__)


def test_typed_marker_ships():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (ROOT / "eoxr" / "py.typed").exists()
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["eoxr"]


def test_python_version_floor_agrees_with_ruff():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    floor = re.fullmatch(r">=3\.(\d+)", meta["project"]["requires-python"]).group(1)
    assert meta["tool"]["ruff"]["target-version"] == f"py3{floor}"


def _top_level_imports(paths) -> set[str]:
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_core_dependencies_are_used_by_the_library():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    files = list((ROOT / "eoxr").rglob("*.py"))
    demo = {p for p in files if "demo" in p.relative_to(ROOT / "eoxr").parts}
    library = _top_level_imports(set(files) - demo)
    # import name of each distribution; zarr is used through xarray's Zarr engine (to_zarr)
    import_names = {"odc-stac": "odc", "odc-geo": "odc", "dask": "dask", "zarr": "xarray"}
    for req in meta["dependencies"]:
        dist = _name(req)
        assert import_names.get(dist, dist.replace("-", "_")) in library, f"{dist} is unused"
    assert "matplotlib" not in library and "tqdm" not in _top_level_imports(files)
    assert any(_name(r) == "matplotlib" for r in meta["optional-dependencies"]["demo"])
    assert "demo" in meta["optional-dependencies"]["all"][0]


def test_demo_names_the_extra_when_matplotlib_is_missing(monkeypatch):
    from eoxr.demo import require_demo_dependencies

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "eoxr\[demo\]"'):
        require_demo_dependencies()
