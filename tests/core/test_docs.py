"""Issue 20 §3: what README.md and CONTRIBUTING.md say about the code stays true."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import xarray as xr

import eoxr.testing as et
from eoxr.accessor import EODataArrayAccessor, EODatasetAccessor
from tests.core.test_laziness import ALLOWLIST, FUNCTIONS, OPTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text()


def _section(text: str, title: str) -> str:
    """The text of the ``## title`` section, up to the next ``## ``."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : None if end < 0 else end]


def _layout_entries() -> list[str]:
    """First word of each line under ``eoxr/`` in the README's Layout block."""
    block = _section(README, "Layout").split("```")[1]
    lines = block.splitlines()
    first = lines.index("eoxr/")
    entries = []
    for line in lines[first + 1 :]:
        if not line.startswith(" "):
            break  # the next top-level folder (notebooks/...)
        if not line.startswith("   "):  # deeper indents continue a description
            entries.append(line.split()[0])
    return entries


def test_layout_names_every_package_and_module() -> None:
    pkg = ROOT / "eoxr"
    expected = {p.name for p in pkg.glob("*.py")}
    expected |= {f"{p.parent.name}/" for p in pkg.glob("*/__init__.py")}
    entries = _layout_entries()
    assert len(entries) == len(set(entries)), entries
    missing = sorted(expected - set(entries))
    assert not missing, f"README.md's Layout lacks {missing}: add a line for each"
    stale = sorted(set(entries) - expected)
    assert not stale, f"README.md's Layout names {stale}, which eoxr/ no longer has"


def test_contributing_extras_are_pyproject_extras() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = extras["optional-dependencies"]
    text = _section(CONTRIBUTING, "Dependencies and packaging")
    listed = re.search(r"goes to an extra:(.*?)\.\s", text, re.S)
    assert listed, "CONTRIBUTING.md no longer lists the extras after 'goes to an extra:'"
    names = re.findall(r"`([a-z][a-z0-9_-]*)`", listed.group(1))
    assert len(names) == len(set(names)), names
    assert sorted(names) == sorted(extras), (
        f"CONTRIBUTING.md lists the extras {names}; pyproject.toml has {sorted(extras)}"
    )


def _head(call: str) -> str:
    """The name the README gives a call of test_laziness: ``denoise('tv')`` -> ``tv``."""
    quoted = re.match(r"denoise\('(\w+)'", call)
    if quoted:
        return quoted.group(1)
    return re.match(r"[\w.]+", call).group(0).rsplit(".", 1)[-1]


def test_readme_lists_exactly_the_calls_that_compute() -> None:
    bullet = README[README.index("* **Lazy and chunk-exact**") :]
    bullet = bullet[: bullet.index("Neighbourhood operations")]
    named = {_head(span) for span in re.findall(r"`([^`]+)`", bullet) if "/" not in span}
    computing = set(ALLOWLIST)
    computing |= {_head(k) for k, (_, why) in OPTIONS.items() if why is not None}
    computing |= {_head(k) for k, (_, why) in FUNCTIONS.items() if why is not None}
    assert not computing - named, f"README.md does not say that {computing - named} compute"
    assert not named - computing, f"README.md says that {named - computing} compute"


def test_readme_names_the_chunk_inexact_denoisers() -> None:
    claim = README[README.index("Neighbourhood operations use") :].split("\n* ", 1)[0]
    claim = " ".join(claim.split())
    assert "The one exception is their opt-in tiled path (`halo=`): within 5e-6" in claim


def test_conversions_are_offered_on_both_forms_and_keep_a_converted_cube() -> None:
    # README: to_array / to_dataset / rename_to_common are on both forms; the asked-for form
    # comes back as is, and rename_to_common keeps the form
    for verb in ("to_array", "to_dataset", "rename_to_common"):
        assert verb in EODataArrayAccessor._verbs() and verb in EODatasetAccessor._verbs()
    da = et.make_cube(bands=["B04", "B08"], times=None)
    ds = da.eo.to_dataset()
    assert isinstance(ds, xr.Dataset) and list(ds.data_vars) == ["B04", "B08"]
    assert da.eo.to_array() is da
    assert ds.eo.to_dataset() is ds
    xr.testing.assert_equal(ds.eo.to_array().drop_vars("wavelength"), da)
    assert isinstance(da.eo.rename_to_common(), xr.DataArray)
    assert isinstance(ds.eo.rename_to_common(), xr.Dataset)
    assert list(ds.eo.rename_to_common().data_vars) == ["red", "nir"]
    single = da.sel(band="B04", drop=True).rename("B04")
    assert single.eo.to_array().dims == ("band", "y", "x")
