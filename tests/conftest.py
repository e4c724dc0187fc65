"""Shared fixtures: paths to the real samples in ../shared/data and small synthetic cubes.

A test whose input is missing (a real sample under ``../shared/data``, an optional package, a
program such as ``chromium``) calls one of the helpers below instead of ``pytest.skip`` or
``pytest.importorskip``: :func:`shared_path` (and the ``shared_data`` fixture), :func:`require`
and :func:`require_program`. They all go through :func:`missing`, which skips the test with the
reason, or, when the environment variable ``EOXR_REQUIRE_DATA=1`` is set (``.ci/run`` sets it),
fails it with the same reason: in CI a missing input is a failure, never a silent skip.

``EOXR_SHARED_DATA`` points the real samples elsewhere than ``../shared/data`` next to the
checkout (e.g. at an empty folder, to see what a fresh clone without them does).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REQUIRE_ENV = "EOXR_REQUIRE_DATA"
DATA_ENV = "EOXR_SHARED_DATA"
SHARED_DATA = Path(
    os.environ.get(DATA_ENV) or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
# the reason of every skip that `missing` makes starts with this tag; the summary counts them
TAG = "eoxr needs {kind}:"
_TAG_RE = re.compile(r"eoxr needs (data|package|program): ?(.*)$", re.S)


def required() -> bool:
    """Whether a missing input fails the test (``EOXR_REQUIRE_DATA`` set and not ``0``)."""
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


def missing(kind: str, reason: str) -> NoReturn:
    """Skip the test (or module) for a missing input, or fail it under ``EOXR_REQUIRE_DATA=1``.

    ``kind`` is ``"data"`` (a real sample), ``"package"`` (a Python package of an extra) or
    ``"program"`` (an executable); ``reason`` says what is missing and how to get it.
    """
    text = f"{TAG.format(kind=kind)} {reason}"
    if required():
        pytest.fail(f"{text} [{REQUIRE_ENV}=1: a missing input fails, never skips]", pytrace=False)
    pytest.skip(text, allow_module_level=True)


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data; a missing sample skips the test (fails under the switch)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        missing("data", f"real sample {path} is absent")
    return path


def require(module: str, *, extra: str | None = None) -> ModuleType:
    """Import ``module`` for a test; not installed, it skips (fails under the switch).

    Use it for every optional dependency instead of ``pytest.importorskip``: ``extra`` names the
    ``pyproject.toml`` extra that installs it (``pip install -e .[extra]``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        how = f"pip install -e '.[{extra}]'" if extra else f"pip install {module.split('.')[0]}"
        missing("package", f"{module} cannot be imported ({err}); {how}")


def require_program(*names: str, how: str) -> str:
    """First executable of ``names`` on PATH; none, it skips (fails under the switch)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    missing("program", f"no {' / '.join(names)} executable on PATH; {how}")


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture(scope="session")
def s2_slovenia():
    """Real Sentinel-2 L1C reflectance, (time, band, y, x) float32 with CRS, from shared data."""
    import rioxarray  # noqa: F401
    import xarray as xr

    path = shared_path("s2_slovenia_timeseries", "s2l1c_5dates_13bands_epsg32633.nc")
    with xr.open_dataset(path) as ds:
        da = ds["reflectance"].load()
    return da.astype("float32").rio.write_crs("EPSG:32633")


def pytest_configure(config: pytest.Config) -> None:
    # A missing package fails a module's collection under the switch: the other modules still run
    if required():
        config.option.continue_on_collection_errors = True


def _missing_skips(reports) -> Counter:
    """``Counter`` of (kind, reason) over the skips that :func:`missing` made."""
    found: Counter = Counter()
    for rep in reports:
        longrepr = getattr(rep, "longrepr", None)
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
        match = _TAG_RE.search(str(reason))
        if match:
            found[match.group(1), match.group(2)] += 1
    return found


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line per kind of missing input: how many tests did not run, and why."""
    found = _missing_skips(terminalreporter.stats.get("skipped", []))
    if not found:
        return
    n_data = sum(n for (kind, _), n in found.items() if kind == "data")
    if n_data:
        if SHARED_DATA.exists():
            why = f"samples absent under {SHARED_DATA}"
        else:
            why = f"{SHARED_DATA} not found (../shared/data next to the checkout, or ${DATA_ENV})"
        terminalreporter.write_line(
            f"eoxr: {n_data} tests that need ../shared/data did not run: {why}; "
            f"CI sets {REQUIRE_ENV}=1 so they fail there"
        )
    deps = Counter()
    for (kind, reason), n in found.items():
        if kind != "data":
            deps[reason.removeprefix("no ").split(" ", 1)[0]] += n
    if deps:
        names = ", ".join(sorted(deps))
        terminalreporter.write_line(
            f"eoxr: {sum(deps.values())} tests or test modules did not run for lack of {names}; "
            f"CI sets {REQUIRE_ENV}=1 so they fail there"
        )
