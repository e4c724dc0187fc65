"""Layering rules of the package, read from the import statements of every eoxr module.

- every module imports in a fresh interpreter; imports form no cycle, counting those inside
  functions (deferred): two modules that each need the other are one tangle even if they import;
- dask is imported only in ``eoxr/_dask/`` (and ``eoxr/testing``), whose modules stay small;
- library code never imports ``eoxr.testing``, and only ``eoxr/__init__.py`` the accessor;
- no module uses another module's private (``_x``) name: private MODULES (``_dask.stats``,
  ``_attrs``...) are fine, private NAMES across modules are not.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "eoxr"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # absolute name of the imported module (or the package holding `names`)
    names: tuple[str, ...]  # names taken with `from target import ...`
    top_level: bool  # executed at import time (not inside a function or TYPE_CHECKING)
    line: int
    runtime: bool = True  # executed at all (False under ``if TYPE_CHECKING:``)


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_pkg = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_pkg else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text())
    out: list[Import] = []

    def visit(node: ast.AST, top: bool, runtime: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                out.extend(
                    Import(module, a.name, (), top, child.lineno, runtime) for a in child.names
                )
            elif isinstance(child, ast.ImportFrom):
                names = tuple(a.name for a in child.names)
                target = _absolute(module, child)
                out.append(Import(module, target, names, top, child.lineno, runtime))
            else:
                checking = isinstance(child, ast.If) and _is_type_checking(child)
                deferred = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                visit(child, top and not (deferred or checking), runtime and not checking)

    visit(tree, True, True)
    return out


IMPORTS = {m: _imports(m) for m in MODULES}


def _eoxr_targets(imp: Import) -> list[str]:
    """The eoxr modules an import statement loads (a submodule for each imported submodule)."""
    if imp.target != "eoxr" and not imp.target.startswith("eoxr."):
        return []
    subs = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in MODULES]
    if subs and len(subs) == len(imp.names):
        return subs
    return [imp.target, *subs] if imp.target in MODULES else subs


def _uses(imp: Import, prefix: str) -> bool:
    return imp.target == prefix or imp.target.startswith(prefix + ".")


def _import_graph(deferred: bool) -> dict[str, list[str]]:
    """Module -> the eoxr modules it imports: at import time, or (``deferred``) ever at run time."""
    return {
        m: sorted(
            {
                t
                for imp in IMPORTS[m]
                if imp.top_level or (deferred and imp.runtime)
                for t in _eoxr_targets(imp)
            }
            - {m}
        )
        for m in MODULES
    }


def _find_cycles(deferred: bool = False) -> list[tuple[str, ...]]:
    """Every elementary import cycle, from its smallest module name (``a -> b -> a``: ``(a, b)``).

    ``deferred=False``: imports run at import time only (a cycle there can break an import);
    ``deferred=True``: imports inside functions too (a cycle there is a tangle of two modules
    that each need the other, even if it imports).
    """
    graph = _import_graph(deferred)
    cycles: list[tuple[str, ...]] = []

    def walk(start: str, path: list[str]) -> None:
        for nxt in graph.get(path[-1], []):
            if nxt == start:
                cycles.append(tuple(path))
            elif nxt > start and nxt not in path:
                walk(start, [*path, nxt])

    for m in sorted(graph):
        walk(m, [m])
    return sorted(cycles)


def test_every_module_imports_in_a_fresh_interpreter():
    code = (
        "import importlib, sys\n"
        f"names = {sorted(MODULES)!r}\n"
        "bad = []\n"
        "for n in names:\n"
        "    try:\n"
        "        importlib.import_module(n)\n"
        "    except Exception as e:\n"
        "        bad.append(f'{n}: {type(e).__name__}: {e}')\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "", out.stdout


def test_cycle_detector_sees_a_cycle(monkeypatch):
    a = Import("eoxr.bands", "eoxr._dims", (), True, 1)
    b = Import("eoxr._dims", "eoxr", ("bands",), True, 1)
    monkeypatch.setitem(IMPORTS, "eoxr.bands", [a])
    monkeypatch.setitem(IMPORTS, "eoxr._dims", [b])
    assert ("eoxr._dims", "eoxr.bands") in _find_cycles()


def test_cycle_detector_sees_deferred_imports_and_dask_modules(monkeypatch, tmp_path):
    # eoxr._dims imports eoxr._dask.stats inside a function; stats imports _dims at the top
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ._dask.stats import compute\n")
    monkeypatch.setitem(MODULES, "eoxr._dims", probe)
    monkeypatch.setitem(IMPORTS, "eoxr._dims", _imports("eoxr._dims"))
    back = Import("eoxr._dask.stats", "eoxr", ("_dims",), True, 1)
    monkeypatch.setitem(IMPORTS, "eoxr._dask.stats", [*IMPORTS["eoxr._dask.stats"], back])
    assert ("eoxr._dask.stats", "eoxr._dims") not in _find_cycles()  # not at import time
    assert ("eoxr._dask.stats", "eoxr._dims") in _find_cycles(deferred=True)


def test_type_checking_imports_are_no_cycle(monkeypatch, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import bands\n"
    )
    monkeypatch.setitem(MODULES, "eoxr._dims", probe)
    monkeypatch.setitem(IMPORTS, "eoxr._dims", _imports("eoxr._dims"))
    back = Import("eoxr.bands", "eoxr", ("_dims",), True, 1)
    monkeypatch.setitem(IMPORTS, "eoxr.bands", [back])
    assert ("eoxr._dims", "eoxr.bands") not in _find_cycles(deferred=True)


def test_no_import_cycles():
    assert _find_cycles() == []


# Cycles through imports inside functions, known and due to go (issue 21; another step untangles
# them). Each is (a, b, ...) for a -> b -> ... -> a, from its smallest module name. The test fails
# when one of them disappears (delete its line) or a new one appears (don't add it: move what both
# modules need down a layer instead).
def test_no_deferred_import_cycles():
    cycles = _find_cycles(deferred=True)
    assert not cycles, f"import cycles (imports inside functions counted): {cycles}"


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_dask_only_in_the_dask_layer_and_testing():
    offenders = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for m, imps in IMPORTS.items()
        if not _inside(m, "eoxr._dask") and not _inside(m, "eoxr.testing")
        for imp in imps
        if _uses(imp, "dask")
    ]
    assert offenders == [], "\n".join(offenders)


def test_dask_layer_modules_are_small():
    layer = [m for m in MODULES if _inside(m, "eoxr._dask")]
    assert "eoxr._dask.overlap" in layer and "eoxr._dask.stats" in layer
    sizes = {m: len(MODULES[m].read_text().splitlines()) for m in layer}
    big = {m: n for m, n in sizes.items() if n > 400}
    assert big == {}, f"split these eoxr/_dask modules (over 400 lines): {big}"


def test_library_never_imports_testing_nor_the_accessor():
    offenders = []
    for m, imps in IMPORTS.items():
        if m.startswith("eoxr.testing"):
            continue
        for imp in imps:
            targets = _eoxr_targets(imp)
            if any(t.startswith("eoxr.testing") for t in targets):
                offenders.append(f"{m}:{imp.line} imports eoxr.testing")
            if "eoxr.accessor" in targets and m != "eoxr":
                offenders.append(f"{m}:{imp.line} imports the accessor")
    assert offenders == [], "\n".join(offenders)


def _private_name_uses(module: str) -> list[str]:
    out = []
    aliases = {}  # local name -> the eoxr module it is bound to
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "eoxr" or a.name.startswith("eoxr."):
                    if a.asname:
                        aliases[a.asname] = a.name
                    else:
                        aliases["eoxr"] = "eoxr"
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            if not (target == "eoxr" or target.startswith("eoxr.")):
                continue
            for a in node.names:
                if f"{target}.{a.name}" in MODULES:
                    aliases[a.asname or a.name] = f"{target}.{a.name}"  # a module: fine
                elif a.name.startswith("_") and not a.name.startswith("__") and target != module:
                    out.append(f"{module}:{node.lineno} `from {target} import {a.name}`")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and aliases.get(node.value.id)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and f"{aliases[node.value.id]}.{node.attr}" not in MODULES
            and aliases[node.value.id] != module
        ):
            out.append(f"{module}:{node.lineno} `{node.value.id}.{node.attr}`")
    return out


def test_no_private_names_across_modules():
    offenders = [use for m in MODULES for use in _private_name_uses(m)]
    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ._dask.overlap import map_overlap", []),
        ("from ._dask import overlap", []),
        ("from . import _dask", []),
        ("from ._dask.progress import _interactive", ["_interactive"]),
        ("from ._dask import progress as c\nc._interactive()", ["c._interactive"]),
        ("import eoxr._dask.progress as c\nc._interactive()", ["c._interactive"]),
    ],
)
def test_private_name_rule_examples(monkeypatch, tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    monkeypatch.setitem(MODULES, "eoxr.probe", path)
    monkeypatch.setitem(IMPORTS, "eoxr.probe", _imports("eoxr.probe"))
    found = _private_name_uses("eoxr.probe")
    assert len(found) == len(expected)
    assert all(e in f for e, f in zip(expected, found))
