"""`eoxr demo` step for embeddings: RCF embeddings of the built-in Sentinel-2 sample.

A similarity map from a water patch, k-means clusters and a GeoParquet file.
"""

from __future__ import annotations

import pathlib
import time

import numpy as np

BANDS = ["blue", "green", "red", "nir", "swir16", "swir22"]


def run(out: pathlib.Path) -> list[str]:
    """Embed the Chesapeake sample with random convolutional features and search it."""
    from .. import datasets
    from ..embed import encoder, to_geoparquet
    from . import quicklook

    out = out / "embed"
    cube = datasets.open("s2_chesapeake").isel(time=0).eo.to_array()
    t0 = time.perf_counter()
    enc = encoder("rcf", bands=BANDS, features=128, size=3, seed=0, data=cube, sample=4000)
    emb = cube.eo.embed(enc, patch=16).compute()
    took = time.perf_counter() - t0
    # query: the patch with the darkest NIR (open water in this scene)
    nir = cube.sel(band="B08").coarsen(y=16, x=16).mean().values
    i, j = np.unravel_index(np.nanargmin(nir), nir.shape)
    point = (float(emb.x[j]), float(emb.y[i]))
    sim = emb.eo.similarity(point)
    close = sim.values > 0.95
    quicklook(sim, out / "similarity_to_water.png", "RCF cosine similarity to a water patch")
    clusters = emb.eo.kmeans(4, seed=0)
    named = clusters.assign_attrs(classes=[f"cluster {k}" for k in range(4)])  # a legend
    quicklook(named, out / "kmeans4.png", "k-means (k=4) of RCF embeddings")
    to_geoparquet(emb, out / "rcf_embeddings.parquet", overwrite=True)
    return [
        f"RCF encoder ({enc.info['features']} features, {enc.info['size']}x{enc.info['size']} "
        f"kernels) over Chesapeake: {emb.sizes['y']}x{emb.sizes['x']} patches of 16 px in "
        f"{took:.1f} s",
        f"similarity to a water patch: {int(close.sum())} patches above 0.95, their NIR "
        f"{float(np.nanmean(nir[close])):.3f} vs scene {float(np.nanmean(nir)):.3f}",
        "k-means (k=4) and similarity PNGs; embeddings -> GeoParquet",
    ]
