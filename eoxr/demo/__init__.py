"""``eoxr demo``: the end-to-end workflow on the built-in data.

The foundation step loads the shipped samples through their local STAC catalogs, masks clouds,
composites and writes COG/Zarr/PNG; each topic adds its own step in this package
(``eoxr.demo.<topic>.run``). The PNG quicklooks need matplotlib: ``pip install "eoxr[demo]"``.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import xarray as xr

from .._dask.stats import compute

#: (step name, "module:function"); each function takes the output folder and returns lines.
STEPS: tuple[tuple[str, str], ...] = (
    ("foundation", "eoxr.demo:foundation_step"),
    ("indices", "eoxr.demo.indices:run"),
    ("sar", "eoxr.demo.sar:run"),
    ("hsi", "eoxr.demo.hsi:run"),
    ("ml", "eoxr.demo.ml:run"),
    ("change", "eoxr.demo.change:run"),
    ("embed", "eoxr.demo.embed:run"),
)


def quicklook(layer: xr.DataArray, path: Path, title: str, *, cmap: str | None = None) -> Path:
    """Save a PNG quick look of a 3-band RGB stack or a single (y, x) layer.

    Drawn by the same verbs a notebook uses (:func:`eoxr.plot.plot_rgb`, 2-98 % stretch, and
    :func:`eoxr.plot.image`; class and change maps get their categorical legend), rendered by
    holoviews' matplotlib backend: no browser needed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import holoviews as hv

    from .. import plot
    from .._dims import band_dim

    plot.extension()  # bokeh current, as in a notebook (importing eoxr.plot loads no backend)
    current = hv.Store.current_backend
    if "matplotlib" not in hv.Store.loaded_backends():
        hv.extension("matplotlib")  # before building: the verbs style every loaded backend
        hv.Store.set_current_backend(current)
    dim = band_dim(layer)
    if dim is not None and layer.sizes[dim] == 3:
        view = plot.plot_rgb(layer, bands=[str(b) for b in layer[dim].values], title=title)
    else:
        view = plot.image(layer, cmap=cmap or "viridis", title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    hv.save(view, path, backend="matplotlib", dpi=80)
    return path


def foundation_step(out: Path) -> list[str]:
    """Load through STAC, mask clouds, composite, write COG/Zarr/PNG."""
    from .. import datasets
    from ..io import to_cog, to_zarr

    out = out / "foundation"
    out.mkdir(parents=True, exist_ok=True)  # writers do not create folders
    lines = []
    ls = datasets.open("landsat_colorado")
    summer = ls.sel(time=slice("2009-06-01", "2009-08-31"))
    clear = summer.eo.mask_clouds()  # fmask: clouds, shadows, fill
    comp = clear.eo.composite("median")
    (comp,) = compute(comp)  # progress bar when interactive
    to_cog(comp, out / "landsat_summer2009_median.tif", overwrite=True)
    to_zarr(comp, out / "landsat_summer2009_median.zarr", overwrite=True)
    fc = comp.eo.to_array().sel(band=["swir16", "nir", "red"])
    quicklook(
        fc, out / "landsat_summer2009_median.png", "Landsat median Jun-Aug 2009 (SWIR/NIR/red)"
    )
    valid = float(clear.red.notnull().mean())
    lines.append(
        f"Landsat Colorado: {summer.sizes['time']} summer-2009 scenes via STAC, "
        f"{valid:.0%} clear after fmask; median composite -> COG, Zarr, PNG"
    )

    s2 = datasets.open("s2_chesapeake")
    rgb = s2.eo.to_array().sel(band=["B04", "B03", "B02"]).isel(time=0)
    (s2c,) = compute(s2[["B02", "B03", "B04", "B08"]].isel(time=0))
    to_cog(s2c, out / "s2_chesapeake_10m.tif", overwrite=True)
    quicklook(rgb, out / "s2_chesapeake_rgb.png", "Sentinel-2 L1C Chesapeake (true colour)")
    lines.append(
        f"Sentinel-2 Chesapeake: {len(s2.data_vars)} bands at 10 m, "
        f"{s2.sizes['y']}x{s2.sizes['x']} px via STAC; 10 m bands -> COG, PNG"
    )

    scene = datasets.synthetic_s2(seed=0, chunks={"y": 64, "x": 64})
    masked = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    best = masked.eo.composite("max_ndvi").compute()
    err = float(abs(masked.eo.composite("median") - scene.truth.median("time")).mean())
    raw = float(abs(scene.cube.median("time") - scene.truth.median("time")).mean())
    quicklook(
        best.sel(band=["B04", "B03", "B02"]),
        out / "synthetic_s2_max_ndvi.png",
        "Synthetic S2: max-NDVI composite",
    )
    lines.append(
        f"Synthetic S2 ({scene.cube.sizes['time']} dates): SCL masking cuts the median "
        f"composite error vs truth from {raw:.4f} to {err:.4f}"
    )
    return lines


def require_demo_dependencies() -> None:
    """Raise an ``ImportError`` that names the extra to install when matplotlib is missing."""
    try:
        import holoviews  # noqa: F401
        import hvplot  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "eoxr demo draws PNG quicklooks with eoxr.plot (holoviews, hvplot) and matplotlib; "
            'install them with `pip install "eoxr[demo]"`'
        ) from err


def run_demo(
    out: str | Path = "eoxr-output",
    *,
    steps: Sequence[str] | None = None,
    printer: Callable[[str], None] = print,
) -> dict[str, list[str]]:
    """Run the demo steps (all, or those named), print a summary, return it per step.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    steps : sequence of str, optional
        Names of the steps to run (see :data:`STEPS`); default all.
    printer : callable
        Receives each line of the progress and summary (default :func:`print`).

    Returns
    -------
    dict
        Step name -> the lines it reported, the last one its run time.
    """
    require_demo_dependencies()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in STEPS if steps is None or s[0] in steps]
    summary: dict[str, list[str]] = {}
    t_all = time.perf_counter()
    for i, (name, target) in enumerate(chosen, 1):
        printer(f"eoxr demo [{i}/{len(chosen)}] {name} ...")
        module, _, func = target.partition(":")
        t0 = time.perf_counter()
        lines = getattr(importlib.import_module(module), func)(out)
        summary[name] = [*lines, f"({time.perf_counter() - t0:.1f} s)"]
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    printer(
        f"\neoxr demo: wrote {size / 1e6:.1f} MB to {out.resolve()} in "
        f"{time.perf_counter() - t_all:.1f} s"
    )
    for name, lines in summary.items():
        printer(f"[{name}]")
        for line in lines:
            printer(f"  {line}")
    return summary
