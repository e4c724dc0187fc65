"""`eoxr demo` step for change detection: the planted clearing (S2) and the planted flood (S1).

The synthetic Sentinel-2 series has a forest area cleared to bare soil from its middle date on
(``scene.change``, ``extras["change_time"]``); the synthetic Sentinel-1 series has an area turned
to open water from ``flood_from`` on. Both truths come with the generators.
"""

from __future__ import annotations

import pathlib
import time

import numpy as np


def _precision_recall(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    tp = float(np.sum(found & truth))
    return tp / max(float(found.sum()), 1.0), tp / max(float(truth.sum()), 1.0)


def _clearest_pair(scl, change_time):
    """Indices of the least cloudy date before the change and the one a year after it."""
    clear = np.asarray(scl.isin([4, 5, 6]).mean(("y", "x")))
    times = scl.time.values
    before = [i for i in range(len(times)) if times[i] < np.datetime64(change_time)]
    first = max(before, key=lambda i: clear[i])
    later = times[first] + np.timedelta64(330, "D")
    after = [i for i in range(len(times)) if times[i] >= later]
    second = max(after[:2], key=lambda i: clear[i])  # the same season a year on
    return first, second


def run(out: pathlib.Path) -> list[str]:
    """Detect the planted S2 change and the S1 flood; write polygons and a PNG; score them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..change import bfast_monitor, irmad, omnibus, threshold
    from ..datasets import synthetic_s1, synthetic_s2

    folder = pathlib.Path(out) / "change"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []

    scene = synthetic_s2(seed=0, shape=(128, 128), times=24, chunks={"y": 64, "x": 64})
    cube = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    i, j = _clearest_pair(scene.extras["scl"], scene.extras["change_time"])
    a, b = cube.isel(time=i), cube.isel(time=j)
    truth = scene.change.values
    t0 = time.perf_counter()
    res = a.eo.change(b, method="cva", threshold_method="kittler_illingworth").compute()
    mad = irmad(a, b)
    _, mad_mask = threshold(mad.chi2, "kittler_illingworth")
    secs = time.perf_counter() - t0
    valid = np.isfinite(res.statistic.values)
    for name, found in (("CVA+KI", res.change.values), ("IR-MAD+KI", mad_mask.values)):
        prec, rec = _precision_recall(found & valid, truth & valid)
        lines.append(
            f"S2 change {str(a.time.values)[:10]} -> {str(b.time.values)[:10]}: {name} "
            f"precision {prec:.3f}, recall {rec:.3f} (planted clearing, {valid.mean():.0%} "
            "pixels clear on both dates)"
        )
    gdf = res.change.eo.vectorize(min_area=500.0)
    gdf.to_file(folder / "s2_change_polygons.gpkg", driver="GPKG")
    lines.append(
        f"S2 change polygons: {gdf.attrs['n_polygons']} >= 500 m2, "
        f"{gdf.attrs['total_area'] / 1e4:.2f} ha (truth where clear on both dates "
        f"{(truth & valid).sum() * 100 / 1e4:.2f} ha) -> s2_change_polygons.gpkg; "
        f"statistics in {secs:.1f} s"
    )
    # BFAST-monitor needs a history of a few years: a 4-year monthly series
    long = synthetic_s2(seed=0, shape=(64, 64), times=48, chunks={"y": 32, "x": 32})
    series = long.cube.eo.mask_clouds(mask=long.extras["scl"])
    bf = bfast_monitor(series, "NDVI", monitor_start=long.extras["change_time"], order=1)
    found, planted = bf.status.values == 1, long.change.values
    prec, rec = _precision_recall(found, planted)
    lines.append(
        f"S2 BFAST-monitor (NDVI, 48 dates, clouds masked): precision {prec:.3f}, recall "
        f"{rec:.3f}, false alarms on {found[~planted].mean():.1%} of unchanged pixels"
    )

    s1 = synthetic_s1(seed=0, shape=(128, 128), times=10, flood_from=6)
    series = s1.cube.chunk({"y": 64, "x": 64})
    om = omnibus(series, alpha=0.01).compute()
    flood_date = s1.cube.time.values[6]
    at_flood = om.change.sel(time=flood_date).values
    prec, rec = _precision_recall(at_flood, s1.change.values)
    lines.append(
        f"S1 omnibus (10 dates, ENL estimated {float(om.looks):.2f}): flood found at its date "
        f"{str(flood_date)[:10]}: precision {prec:.3f}, recall {rec:.3f}"
    )
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    days = (om.first_change - om.time[0]) / np.timedelta64(1, "D")
    panels = [
        ("S2 CVA magnitude", res.statistic.values, "magma"),
        ("S2 change (CVA + KI)", res.change.values, "gray"),
        ("S1 first change (days)", days.values, "viridis"),
    ]
    for ax, (title, img, cmap) in zip(axes, panels):
        im = ax.imshow(img, cmap=cmap)
        ax.set_title(title)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.tight_layout()
    fig.savefig(folder / "change.png", dpi=80)
    plt.close(fig)
    lines.append(f"change: wrote {folder}/change.png")
    return lines
