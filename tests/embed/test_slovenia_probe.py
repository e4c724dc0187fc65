"""Real Sentinel-2 (Slovenia, eo-learn): RCF embeddings classify land cover with a k-NN probe.

Patches of 4 x 4 px (40 m) on the three cloud-free dates, labelled by the `lulc` raster's
majority class where it covers >= 60 % of the patch (forest 459, grassland 96, shrubland 13,
artificial 6 patches per date). Figures at the time of writing: k-NN (k=5, 5 spatial folds)
accuracy forest/grassland RCF 0.981 (balanced 0.954) vs raw per-band mean+std 0.977 (0.962);
similarity query = mean embedding of every other grassland polygon of LULC.gpkg, ranked over
the patches outside the query polygons: precision@25 RCF 0.88 vs raw stats 0.64 (base rate 0.15).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.conftest import require

require("torch", extra="ml")
require("sklearn", extra="ml")
gpd = require("geopandas", extra="ml")

from eoxr.embed import embed, encoder, similarity  # noqa: E402
from eoxr.embed.vector import geometry_cells  # noqa: E402
from tests.conftest import shared_path  # noqa: E402

P = 4


@pytest.fixture(scope="module")
def scene():
    folder = shared_path("s2_slovenia_timeseries")
    with xr.open_dataset(folder / "s2l1c_5dates_13bands_epsg32633.nc") as ds:
        cube = ds["reflectance"].load().astype("float32").rio.write_crs("EPSG:32633")
    with xr.open_dataset(folder / "ndvi_clm_68dates_epsg32633.nc") as ds:
        lulc = ds["lulc"].load().values
    cube = cube.isel(time=[0, 3, 4])  # dates 1 and 2 are fully cloudy
    ny, nx = lulc.shape[0] // P, lulc.shape[1] // P
    lab = np.full((ny, nx), -1)
    for i in range(ny):
        for j in range(nx):
            v, c = np.unique(lulc[i * P : (i + 1) * P, j * P : (j + 1) * P], return_counts=True)
            if c.max() >= 0.6 * P * P:
                lab[i, j] = v[c.argmax()]
    polygons = gpd.read_file(folder / "LULC.gpkg")
    return cube, lab, polygons


def _knn_accuracy(feat: xr.DataArray, lab: np.ndarray, classes: tuple) -> float:
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = feat.transpose("time", "y", "x", "feature").values.reshape(-1, feat.sizes["feature"])
    y = np.tile(lab.ravel(), feat.sizes["time"])
    groups = np.tile(np.arange(lab.size), feat.sizes["time"])  # a place is in one fold only
    ok = np.isin(y, classes)
    clf = make_pipeline(StandardScaler(), KNeighborsClassifier(5))
    pred = cross_val_predict(clf, x[ok], y[ok], groups=groups[ok], cv=GroupKFold(5))
    return float((pred == y[ok]).mean())


def _raw_stats(cube: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    c = cube.isel(y=slice(0, like.sizes["y"] * P), x=slice(0, like.sizes["x"] * P))
    co = c.coarsen(y=P, x=P)
    raw = xr.concat([co.mean(), co.std()], "band").rename(band="feature")
    return raw.assign_coords(y=like.y, x=like.x).assign_attrs(like.attrs)


def _precision_at(emb: xr.DataArray, lab: np.ndarray, polygons, k: int) -> float:
    grass = polygons[polygons["LULC_ID"] == 3]
    query, e0 = grass.iloc[::2], emb.isel(time=0)
    sim = similarity(e0, query).values.copy()
    for geom in query.geometry:  # rank only patches the query did not see
        sim[geometry_cells(e0, geom)] = -np.inf
    top = np.argsort(-sim.ravel(), kind="stable")[:k]
    return float((lab.ravel()[top] == 3).mean())


def test_rcf_knn_probe_and_similarity_precision(scene) -> None:
    cube, lab, polygons = scene
    enc = encoder("rcf", bands=list(cube.band.values), features=256, size=3, seed=0, data=cube)
    emb = embed(cube, enc, patch=P)
    assert emb.sizes["y"] == lab.shape[0] and emb.sizes["x"] == lab.shape[1]
    raw = _raw_stats(cube, emb)
    acc_rcf = _knn_accuracy(emb, lab, (2, 3))
    acc_raw = _knn_accuracy(raw, lab, (2, 3))
    assert acc_rcf > 0.96 and acc_rcf >= acc_raw - 0.02  # as good as the raw statistics
    assert (lab[lab >= 0] == 2).mean() < 0.85 < acc_rcf  # far above always-forest
    p_rcf, p_raw = _precision_at(emb, lab, polygons, 25), _precision_at(raw, lab, polygons, 25)
    assert p_rcf >= 0.8 and p_rcf > p_raw + 0.1
