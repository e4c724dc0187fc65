#!/usr/bin/env python
"""Refresh the vendored Awesome Spectral Indices (ASI) catalog in ``eoxr/indices/data/``.

The catalog is data, not code: this script copies the ASI ``spectral-indices-dict.json``,
``bands.json`` and ``constants.json`` into one file, ``eoxr/indices/data/asi.json``, together with
its version and source, and writes the MIT licence next to it. The result is validated with the
same loader eoxr uses at run time before it replaces the old file.

Usage::

    python scripts/update_indices.py                       # from the installed spyndex package
    python scripts/update_indices.py --from path/to/output/ # an ASI checkout's output/ folder
    python scripts/update_indices.py --from spectral-indices-dict.json --version 0.7.0

Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "eoxr" / "indices" / "data"
SOURCE_URL = "https://github.com/awesome-spectral-indices/awesome-spectral-indices"

# The ASI kernel functions k(a, b) used by the kernel indices (kNDVI, kEVI, ...), as the ASI
# README and spyndex.computeKernel define them. ASI keeps them in prose, not in its JSON output.
KERNELS = {
    "linear": {"formula": "a * b", "parameters": []},
    "poly": {"formula": "((a * b) + c) ** p", "parameters": ["c", "p"]},
    "RBF": {
        "formula": "exp((-1.0 * (a - b) ** 2.0) / (2.0 * sigma ** 2.0))",
        "parameters": ["sigma"],
    },
}

# Radar indices use polarisation symbols that the ASI bands.json (as shipped by spyndex) does
# not list; they are declared here so that every symbol of every formula is known.
SAR_BANDS = {
    sym: {
        "short_name": sym,
        "common_name": sym.lower(),
        "long_name": f"{sym} backscattering",
        "min_wavelength": None,
        "max_wavelength": None,
        "platforms": {},
        "added_by": "eoxr (polarisation symbol used by ASI radar indices)",
    }
    for sym in ("VV", "VH", "HH", "HV")
}

MIT_FALLBACK = """MIT License

Copyright (c) 2021 David Montero Loaiza

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _read(folder: Path, name: str) -> dict:
    path = folder / name
    if not path.exists():
        sys.exit(f"{path} not found: pass a folder holding {name}")
    return json.loads(path.read_text(encoding="utf-8"))


def from_spyndex() -> tuple[Path, str, str, str]:
    """The data folder, version, source text and licence of the installed spyndex."""
    try:
        version = metadata.version("spyndex")
    except metadata.PackageNotFoundError:
        sys.exit("spyndex is not installed: `pip install spyndex` or pass --from")
    folder = Path(str(resources.files("spyndex") / "data"))
    licence = MIT_FALLBACK
    for f in metadata.files("spyndex") or []:
        if "licen" in str(f).lower():
            licence = Path(f.locate()).read_text(encoding="utf-8")
    return folder, f"spyndex {version} data files", f"{SOURCE_URL} (via spyndex {version})", licence


def build(folder: Path, indices_file: Path | None, version: str, source: str) -> dict:
    """Assemble the vendored catalog dict from ASI JSON files."""
    raw = (
        json.loads(indices_file.read_text(encoding="utf-8"))
        if indices_file
        else _read(folder, "spectral-indices-dict.json")
    )
    indices = raw.get("SpectralIndices", raw)
    bands = _read(folder, "bands.json")
    constants = _read(folder, "constants.json")
    for sym, entry in SAR_BANDS.items():
        bands.setdefault(sym, entry)
    latest = max(v.get("date_of_addition", "") for v in indices.values())
    return {
        "name": "Awesome Spectral Indices",
        "version": version,
        "latest_date_of_addition": latest,
        "source": source,
        "licence": "MIT (see LICENSE.txt)",
        "citation": "Montero, D. et al. (2023) A standardized catalogue of spectral indices to "
        "advance the use of remote sensing in Earth system research. Scientific Data "
        "10, 197. https://doi.org/10.1038/s41597-023-02096-0",
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        "generated_by": "scripts/update_indices.py",
        "indices": dict(sorted(indices.items())),
        "bands": bands,
        "constants": constants,
        "kernels": KERNELS,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--from",
        dest="src",
        type=Path,
        help="ASI output folder, or a spectral-indices-dict.json (bands.json and "
        "constants.json are read from the same folder)",
    )
    p.add_argument("--version", help="catalog version to record (default: from the source)")
    p.add_argument("--dest", type=Path, default=DEST, help=f"output folder (default {DEST})")
    args = p.parse_args(argv)

    if args.src is None:
        folder, version, source, licence = from_spyndex()
        indices_file = None
    else:
        src = args.src.resolve()
        folder, indices_file = (src, None) if src.is_dir() else (src.parent, src)
        version, source, licence = "unknown", f"{SOURCE_URL} (local copy {src})", MIT_FALLBACK
        lic = folder.parent / "LICENSE"
        if lic.exists():
            licence = lic.read_text(encoding="utf-8")
    catalog = build(folder, indices_file, args.version or version, source)

    # Validate with eoxr's own loader before replacing anything.
    sys.path.insert(0, str(ROOT))
    from eoxr.indices._catalog import validate_catalog

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "asi.json"
        probe.write_text(json.dumps(catalog), encoding="utf-8")
        validate_catalog(json.loads(probe.read_text(encoding="utf-8")))

    args.dest.mkdir(parents=True, exist_ok=True)
    (args.dest / "asi.json").write_text(
        json.dumps(catalog, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (args.dest / "LICENSE.txt").write_text(licence, encoding="utf-8")
    print(
        f"wrote {len(catalog['indices'])} indices, {len(catalog['bands'])} bands, "
        f"{len(catalog['constants'])} constants ({catalog['version']}) to {args.dest}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
