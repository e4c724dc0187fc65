"""Embeddings and vector data: zonal vectors per polygon, GeoParquet out and back.

A patch belongs to a polygon when its centre is inside; a polygon too small to contain a centre
gets the patch whose footprint holds its representative point; a point gets the patch whose
footprint holds it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import _objstore as objstore
from .._attrs import crs_of
from .._dask.stats import compute
from .._dims import spatial_dims
from ..errors import ParameterError, ReadError, WriteError
from ._feature import FEATURE, feature_dim

STATS = {"mean": np.nanmean, "median": np.nanmedian, "min": np.nanmin, "max": np.nanmax}
_META_KEY = b"eoxr_embedding"


def geometries_in_crs(geom: Any, emb: xr.DataArray, crs: Any = None) -> list:
    """Shapely geometries of ``geom`` (a geometry, GeoSeries or GeoDataFrame) in the cube's CRS."""
    import geopandas as gpd

    from ..ml.vector import to_cube_crs

    if isinstance(geom, gpd.GeoDataFrame | gpd.GeoSeries):
        gs = geom.geometry if isinstance(geom, gpd.GeoDataFrame) else geom
    else:
        gs = gpd.GeoSeries([geom], crs=crs if crs is not None else crs_of(emb))
    if gs.crs is None and crs is not None:
        gs = gs.set_crs(crs)
    return list(to_cube_crs(gpd.GeoDataFrame(geometry=gs), emb).geometry)


def _half_footprint(emb: xr.DataArray) -> tuple[float, float]:
    """Half the patch extent along y and x in map units (attrs of embed, else the spacing)."""
    ydim, xdim = spatial_dims(emb)
    out = []
    for i, d in enumerate((ydim, xdim)):
        res = emb.attrs.get("pixel_size")
        if res is not None and "patch" in emb.attrs:
            out.append(abs(float(res[i])) * int(emb.attrs["patch"]) / 2)
        else:
            v = np.asarray(emb[d].values, dtype=np.float64)
            out.append(abs(v[1] - v[0]) / 2 if len(v) > 1 else np.inf)
    return out[0], out[1]


def geometry_cells(emb: xr.DataArray, geom: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the patches a geometry (in the cube's CRS) stands for."""
    import shapely

    ydim, xdim = spatial_dims(emb)
    yc = np.asarray(emb[ydim].values, dtype=np.float64)
    xc = np.asarray(emb[xdim].values, dtype=np.float64)
    empty = np.zeros(0, dtype=np.intp)
    if geom is None or geom.is_empty:
        return empty, empty
    if geom.geom_type not in ("Point", "MultiPoint"):
        gy, gx = np.meshgrid(yc, xc, indexing="ij")
        inside = shapely.contains_xy(geom, gx, gy)
        if inside.any():
            return np.nonzero(inside)
        geom = geom.representative_point()
    hy, hx = _half_footprint(emb)
    pts = shapely.get_coordinates(geom)
    rows, cols = [], []
    for px, py in pts:
        i, j = int(np.abs(yc - py).argmin()), int(np.abs(xc - px).argmin())
        if abs(yc[i] - py) <= hy and abs(xc[j] - px) <= hx:
            rows.append(i)
            cols.append(j)
    return np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)


def patch_index(emb: xr.DataArray, geoms: list) -> tuple[np.ndarray, np.ndarray]:
    """Unique ``(rows, cols)`` of the patches of several geometries."""
    cells = {rc for g in geoms for rc in zip(*geometry_cells(emb, g))}
    if not cells:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    rows, cols = zip(*sorted(cells))
    return np.asarray(rows, np.intp), np.asarray(cols, np.intp)


def zonal(emb: xr.DataArray, gdf: Any, *, stats: str = "mean", progress: bool | None = None) -> Any:
    """One embedding vector per polygon: a GeoDataFrame with an ``embedding`` column.

    Parameters
    ----------
    emb : DataArray
        Embedding cube (``feature`` dim), e.g. from :func:`eoxr.embed.embed`.
    gdf : GeoDataFrame
        Polygons (or points), reprojected to the cube's CRS for the lookup.
    stats : {"mean", "median", "min", "max"}
        The statistic over the polygon's patches (NaN patches ignored): one, so that each
        polygon gets one vector (``zonal_stats`` takes several, one column each).
    progress : bool, optional
        Progress bar while the patches are read: ``None`` shows it in interactive sessions only.

    Returns
    -------
    GeoDataFrame
        ``gdf``'s rows (its CRS and columns) with ``embedding`` (float32 vector; NaN when no
        valid patch) and ``n_patches``; with extra dims (time...) one row per polygon and
        combination, with a column per extra dim.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, xarray as xr
    >>> from shapely.geometry import box
    >>> emb = xr.DataArray(np.arange(8, dtype="float32").reshape(2, 2, 2),
    ...                    dims=("feature", "y", "x"), coords={"y": [15.0, 5.0], "x": [5.0, 15.0]})
    >>> out = zonal(emb, gpd.GeoDataFrame(geometry=[box(0, 0, 20, 10)]))
    >>> out["embedding"][0].tolist(), int(out["n_patches"][0])
    ([2.5, 6.5], 2)
    """
    import geopandas as gpd

    if not isinstance(stats, str) or stats not in STATS:
        raise ParameterError(f"stats={stats!r}: expected one of {sorted(STATS)}.")
    fdim = feature_dim(emb)
    if not isinstance(gdf, gpd.GeoDataFrame) or len(gdf) == 0:
        raise ParameterError("zonal needs a non-empty GeoDataFrame of polygons.")
    geoms = geometries_in_crs(gdf, emb)
    cells = [geometry_cells(emb, g) for g in geoms]
    rows, cols = patch_index(emb, geoms)
    ydim, xdim = spatial_dims(emb)
    extra = [d for d in emb.dims if d not in (ydim, xdim, fdim)]
    vec = emb.transpose(*extra, ydim, xdim, fdim)
    values = np.full((*vec.shape[:-3], 0, emb.sizes[fdim]), np.nan)
    if rows.size:
        picked = vec.isel(
            {ydim: xr.DataArray(rows, dims="_c"), xdim: xr.DataArray(cols, dims="_c")}
        )
        (vals,) = compute(picked.transpose(*extra, "_c", fdim).data, progress=progress)
        values = np.asarray(vals, dtype=np.float64)
    where = {rc: n for n, rc in enumerate(zip(rows.tolist(), cols.tolist()))}
    records = []
    for idx in np.ndindex(*vec.shape[:-3]):
        for g, (r, c) in enumerate(cells):
            sel = [where[rc] for rc in zip(r.tolist(), c.tolist())]
            v = values[idx][sel] if sel else np.full((0, emb.sizes[fdim]), np.nan)
            ok = np.isfinite(v).all(axis=1)
            with np.errstate(all="ignore"):
                agg = STATS[stats](v[ok], axis=0) if ok.any() else np.full(v.shape[1], np.nan)
            rec = {"_row": g, "embedding": agg.astype(np.float32), "n_patches": int(ok.sum())}
            rec.update({d: emb[d].values[i] if d in emb.coords else i for d, i in zip(extra, idx)})
            records.append(rec)
    table = pd.DataFrame.from_records(records)
    out = gdf.iloc[table["_row"].to_numpy()].reset_index(drop=True)
    for col in table.columns.drop("_row"):
        out[col] = table[col].to_numpy() if col != "embedding" else list(table[col])
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.name, crs=gdf.crs)


def _table(emb: xr.DataArray, progress: bool | None = None) -> tuple[Any, dict]:
    """Rows of valid patch vectors with footprint geometry, and the grid metadata."""
    import geopandas as gpd
    import shapely

    fdim = feature_dim(emb)
    ydim, xdim = spatial_dims(emb)
    extra = [d for d in emb.dims if d not in (ydim, xdim, fdim)]
    vec = emb.transpose(*extra, ydim, xdim, fdim)
    (vals,) = compute(vec.data, progress=progress)
    vals = np.asarray(vals, dtype=np.float32)
    idx = np.nonzero(np.isfinite(vals).all(axis=-1))
    yc = np.asarray(emb[ydim].values, dtype=np.float64)
    xc = np.asarray(emb[xdim].values, dtype=np.float64)
    cy, cx = yc[idx[-2]], xc[idx[-1]]
    hy, hx = _half_footprint(emb)
    cols: dict = {}
    for n, d in enumerate(extra):
        cols[d] = emb[d].values[idx[n]] if d in emb.coords else idx[n]
    cols.update({"y": cy, "x": cx, "embedding": list(vals[idx])})
    geom = shapely.box(cx - hx, cy - hy, cx + hx, cy + hy)
    gdf = gpd.GeoDataFrame(cols, geometry=geom, crs=crs_of(emb))
    meta = {
        "dims": [str(d) for d in emb.dims],
        "y_dim": ydim,
        "x_dim": xdim,
        "y": yc.tolist(),
        "x": xc.tolist(),
        "feature": np.asarray(emb[fdim].values).tolist() if fdim in emb.coords else None,
        "extra": {
            str(d): [str(v) for v in emb[d].values] if d in emb.coords else None for d in extra
        },
        "extra_dtype": {str(d): str(emb[d].dtype) for d in extra if d in emb.coords},
        "shape": {str(d): int(n) for d, n in emb.sizes.items()},
        "name": str(emb.name) if emb.name is not None else None,
        "attrs": json.loads(json.dumps(emb.attrs, default=str)),
    }
    return gdf, meta


def to_geoparquet(
    emb: xr.DataArray,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    progress: bool | None = None,
    storage_options: dict | None = None,
) -> Path | str:
    """Write an embedding cube as GeoParquet: one row per valid patch (and time...).

    Parameters
    ----------
    emb : DataArray
        Embedding cube (``feature`` dim). It is computed (this is a writer).
    path : str or path-like
        Output ``.parquet`` file, or an object-store URL (``s3://bucket/e.parquet``, ``gs://``,
        ``az://``; needs ``eoxr[cloud]``) in an existing bucket: the file is written locally,
        then uploaded in one put, so no reader sees part of it.
    overwrite : bool
        Replace an existing file (on an object store: one object, never a prefix of several).
    progress : bool, optional
        Progress bar while the embeddings are read: ``None`` shows it in interactive sessions only.
    storage_options : dict, optional
        For a URL: options of its fsspec filesystem; by default the filesystem's standard
        environment variables (``AWS_*``...) apply.

    Returns
    -------
    Path or str
        The file written (a URL is returned as given): columns ``geometry`` (patch footprint
        polygon, in the cube's CRS), any extra dims (``time``...), ``y``/``x`` (patch centre)
        and ``embedding`` (float32 list); the grid and the cube's attrs are kept in the file
        metadata for :func:`read_geoparquet`. Written under a temporary name and renamed (or
        uploaded whole): an error leaves nothing behind.

    Examples
    --------
    >>> import tempfile, numpy as np, xarray as xr
    >>> emb = xr.DataArray(np.ones((2, 1, 2), "float32"), dims=("feature", "y", "x"),
    ...                    coords={"y": [5.0], "x": [5.0, 15.0]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = read_geoparquet(to_geoparquet(emb, f"{d}/e.parquet"))
    >>> back.dims, float(back.sum())
    (('feature', 'y', 'x'), 4.0)
    """
    if objstore.is_url(path):
        return _upload_geoparquet(emb, str(path), overwrite, progress, storage_options)
    path = Path(path)
    if path.exists() and not overwrite:
        raise WriteError(f"{str(path)!r} exists; pass overwrite=True to replace it.")
    if not path.parent.is_dir():
        raise WriteError(f"folder {str(path.parent)!r} does not exist; create it first.")
    gdf, meta = _table(emb, progress)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        _write_parquet(gdf, meta, tmp)
        os.replace(tmp, path)
    except Exception as err:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"could not write {str(path)!r}: {err}") from err
    return path


def _write_parquet(gdf: Any, meta: dict, dest: Path) -> None:
    """The GeoParquet file at the local path ``dest``, with the grid in its metadata."""
    import pyarrow.parquet as pq

    # geopandas writes the GeoParquet "geo" metadata; the grid is added beside it
    gdf.to_parquet(dest, index=False)
    table = pq.read_table(dest)
    md = {**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()}
    pq.write_table(table.replace_schema_metadata(md), dest)


def _upload_geoparquet(
    emb: xr.DataArray, url: str, overwrite: bool, progress: bool | None, options: dict | None
) -> str:
    """Write the GeoParquet file locally, then upload it whole to the object ``url``."""
    import tempfile

    fs, key = objstore.filesystem(url, options)
    objstore.check_bucket(fs, key, url)
    found = objstore.objects(fs, key)
    if found and not overwrite:
        raise WriteError(f"{url!r} exists; pass overwrite=True to replace it.")
    if found and (found != [key] or fs.cat_file(key, start=0, end=4) != b"PAR1"):
        raise WriteError(
            f"refusing to overwrite {url!r}: it is {objstore.describe(found, key)}, not one "
            "Parquet file; nothing was deleted. Choose another URL or remove them yourself."
        )
    gdf, meta = _table(emb, progress)
    with tempfile.TemporaryDirectory(prefix="eoxr-parquet-") as tmp:
        local = Path(tmp) / "upload.parquet"
        try:
            _write_parquet(gdf, meta, local)
        except Exception as err:
            raise WriteError(f"could not write {url!r}: {err}. Nothing was uploaded.") from err
        objstore.upload(local, fs, key, url)
    return url


def _extra_values(values: list, dtype: str | None) -> np.ndarray:
    if dtype and dtype.startswith("datetime64"):
        return pd.to_datetime(values).to_numpy()
    return np.asarray(values).astype(dtype) if dtype else np.asarray(values)


def read_geoparquet(path: str | os.PathLike) -> xr.DataArray:
    """Read a file of :func:`to_geoparquet` back into an embedding cube (patches absent: NaN).

    Parameters
    ----------
    path : str or path-like
        GeoParquet file written by :func:`to_geoparquet`.

    Returns
    -------
    DataArray
        float32 with the written dims, coords, CRS and attrs.

    Examples
    --------
    See :func:`to_geoparquet`.
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise ReadError(f"{str(path)!r} does not exist.")
    md = pq.read_schema(path).metadata or {}
    if _META_KEY not in md:
        raise ReadError(
            f"{str(path)!r} has no eoxr embedding metadata: it was not written by "
            "eoxr.embed.to_geoparquet (read it with geopandas.read_parquet instead)."
        )
    meta = json.loads(md[_META_KEY])
    gdf = gpd.read_parquet(path)
    dims, shape = meta["dims"], meta["shape"]
    ydim, xdim = meta["y_dim"], meta["x_dim"]
    extra = list(meta["extra"])
    coords: dict = {ydim: np.asarray(meta["y"]), xdim: np.asarray(meta["x"])}
    for d in extra:
        if meta["extra"][d] is not None:
            coords[d] = _extra_values(meta["extra"][d], meta["extra_dtype"].get(d))
    if meta["feature"] is not None:
        coords[FEATURE] = np.asarray(meta["feature"])
    order = [*extra, ydim, xdim, FEATURE]
    out = np.full([shape[d] for d in order], np.nan, dtype=np.float32)
    pos = []
    for d in extra:
        col = gdf[d].to_numpy()
        pos.append(pd.Index(coords[d]).get_indexer(col) if d in coords else col.astype(int))
    pos.append(pd.Index(coords[ydim]).get_indexer(gdf["y"].to_numpy()))
    pos.append(pd.Index(coords[xdim]).get_indexer(gdf["x"].to_numpy()))
    if len(gdf):
        out[tuple(pos)] = np.stack(gdf["embedding"].to_numpy()).astype(np.float32)
    da = xr.DataArray(out, dims=order, coords=coords, name=meta["name"], attrs=meta["attrs"])
    da = da.transpose(*dims)
    if gdf.crs is not None:
        da = da.rio.write_crs(gdf.crs)
    return da


__all__ = ["zonal", "to_geoparquet", "read_geoparquet", "geometries_in_crs", "patch_index"]
