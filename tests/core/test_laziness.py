"""Issue 10: no ``.eo`` verb computes at call time, unless it must (and then it is listed here).

Every verb of the accessor is called on a small dask-backed cube inside
:func:`eoxr.testing.raise_if_dask_computes`. A verb is either lazy (no computation while it
builds its result, which then computes without error) or in :data:`ALLOWLIST` with the reason it
must compute: a documented global statistic, a fit, a write, or a result that is not an array
(a table, a number). The test fails for a verb that is neither, and for an allowlisted verb
that turns out lazy, so that the list stays honest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import eoxr  # noqa: F401  (registers the accessor)
import eoxr.testing as et
from eoxr.accessor import EODataArrayAccessor, EODatasetAccessor
from eoxr.datasets import synthetic_hsi, synthetic_s1, synthetic_s2
from tests.conftest import require

SPACE = {"y": 16, "x": 16}

#: Verbs that compute when called, by design, with the reason.
ALLOWLIST: dict[str, str] = {
    "to_cog": "a write: the data is computed and stored now",
    "to_zarr": "a write: the data is computed and stored now",
    "estimate_looks": "returns a number: the ENL is a documented global statistic",
    "fit": "a fit: the estimator is trained on the cube's pixels now (progress bar)",
    "sample": "returns a table (GeoDataFrame) of pixel values at the points",
    "zonal_stats": "returns a table (GeoDataFrame) of statistics per polygon",
    "kmeans": "a fit: k-means centroids from a bounded, chunk-independent pixel sample",
    "pca": "a fit: principal axes from a bounded, chunk-independent pixel sample",
    "zonal": "returns a table (GeoDataFrame) of embeddings per polygon",
    "to_geoparquet": "a write: the embeddings are computed and stored now",
    "vectorize": "returns polygons (GeoDataFrame) traced from the computed mask",
    "plot_rgb": "a view: the per-band stretch is read from a bounded sample (<= 512² px, 8 dates)",
    "plot_spectra": "a view: draws the spectra at the given points (a few pixels are read)",
}


# --- cubes -------------------------------------------------------------------------------------


def _s2(times: int = 2, shape: tuple[int, int] = (32, 32)) -> xr.DataArray:
    return synthetic_s2(seed=0, shape=shape, times=times, cloud_cover=0.0, chunks=SPACE).cube


def _s1(times: int = 2) -> xr.DataArray:
    return synthetic_s1(seed=0, shape=(32, 32), times=times).cube.chunk(SPACE)


def _hsi() -> xr.DataArray:
    return synthetic_hsi(shape=(32, 32), n_bands=30).cube.chunk(SPACE)


def _optical() -> xr.DataArray:
    return et.make_cube(ny=32, nx=32, times=None, chunks=SPACE)


def _gdf(cube: xr.DataArray, geom: str = "polygon") -> Any:
    gpd = require("geopandas", extra="ml")
    shapely = require("shapely", extra="ml")
    x0, y0 = float(cube.x[0]), float(cube.y[0])
    shape = (
        shapely.box(x0, y0 - 100, x0 + 100, y0)
        if geom == "polygon"
        else shapely.Point(x0 + 15, y0 - 15)
    )
    return gpd.GeoDataFrame({"label": [1]}, geometry=[shape], crs=cube.rio.crs)


def _embedding() -> xr.DataArray:
    from eoxr.embed import encoder

    enc = encoder("rcf", bands=["red", "nir"], features=4, size=3)
    emb = _optical().eo.embed(enc, patch=8, stride=8)
    return emb if eoxr_is_dask(emb) else emb.chunk()


def eoxr_is_dask(obj: Any) -> bool:
    """Whether ``obj`` (or any of its variables) is dask-backed."""
    from eoxr._dask.chunking import is_dask

    return is_dask(obj)


def _conv() -> Any:
    torch = require("torch", extra="ml")
    torch.manual_seed(0)
    return torch.nn.Conv2d(2, 3, 3, padding=1).eval()


def _as(kind: str, obj: Any) -> Any:
    """``obj`` as the kind of object the accessor under test is on (bands become variables)."""
    if kind == "dataset" and isinstance(obj, xr.DataArray) and "band" in obj.dims:
        return obj.eo.to_dataset()
    return obj


# Each case builds its (dask-backed) input as a DataArray or, for ``kind="dataset"``, a Dataset,
# then returns the call to check: input preparation may compute (e.g. the embedding a
# similarity works on), the returned call must not.
Case = Callable[[Path, str], Callable[[], Any]]


def _on(cube: Callable[[], Any], call: Callable[[Any], Any]) -> Case:
    def case(tmp: Path, kind: str) -> Callable[[], Any]:
        obj = _as(kind, cube())
        return lambda: call(obj)

    return case


def _with_tmp(cube: Callable[[], Any], call: Callable[[Any, Path], Any]) -> Case:
    def case(tmp: Path, kind: str) -> Callable[[], Any]:
        obj = _as(kind, cube())
        return lambda: call(obj, tmp)

    return case


def _csmask_case(_: Path, kind: str) -> Callable[[], Any]:
    require("ukis_csmask", extra="csmask")
    require("onnxruntime", extra="onnx")
    # the U-Nets take fixed 256 x 256 patches
    cube = et.make_cube(bands=["B02", "B03", "B04", "B08"], ny=256, nx=256, times=None)
    cube = _as(kind, cube.chunk({"y": 128, "x": 128}))
    return lambda: cube.eo.cloud_mask_csmask(product_level="l2a")


def _mask_clouds(_: Path, kind: str) -> Callable[[], Any]:
    scene = synthetic_s2(seed=0, shape=(32, 32), times=2, chunks=SPACE)
    cube = _as(kind, scene.cube)
    return lambda: cube.eo.mask_clouds(mask=scene.extras["scl"])


def _apply_model(_: Path, kind: str) -> Callable[[], Any]:
    cube, net = _as(kind, _optical()), _conv()
    return lambda: cube.eo.apply_model(
        net, input_dims={"y": 16, "x": 16}, bands=["nir", "red"], mean=0.3, std=0.2
    )


def _embed(_: Path, kind: str) -> Callable[[], Any]:
    from eoxr.embed import encoder

    cube = _as(kind, _optical())
    enc = encoder("rcf", bands=["red", "nir"], features=4, size=3)
    return lambda: cube.eo.embed(enc, patch=8, stride=8)


def _fit(_: Path, kind: str) -> Callable[[], Any]:
    tree = require("sklearn.tree", extra="ml")
    cube = _optical()
    labels = (cube.sel(band="B08") > 0.3).astype("float32")
    cube = _as(kind, cube)
    return lambda: cube.eo.fit(tree.DecisionTreeClassifier(random_state=0), labels, progress=False)


def _change_mask() -> xr.DataArray:
    cube = _optical()
    return cube.sel(band="B08") > 0.3


CASES: dict[str, Case] = {
    # bands
    "bands": _on(_s2, lambda c: c.eo.bands),
    "sensor": _on(_s2, lambda c: c.eo.sensor),
    "band": _on(_s2, lambda c: c.eo.band("red")),
    "to_array": _on(_s2, lambda c: c.eo.to_array()),
    "to_dataset": _on(_s2, lambda c: c.eo.to_dataset()),
    "rename_to_common": _on(_s2, lambda c: c.eo.rename_to_common()),
    "declare_sensor": _on(_optical, lambda c: c.eo.declare_sensor("sentinel-2")),
    # preparation
    "mask_clouds": _mask_clouds,
    "composite": _on(lambda: _s2(times=3), lambda c: c.eo.composite("median")),
    "to_reflectance": _on(
        lambda: et.make_cube(ny=32, nx=32, times=None, dtype="uint16", chunks=SPACE),
        lambda c: c.eo.to_reflectance(),
    ),
    # writing
    "to_cog": _with_tmp(_optical, lambda c, d: c.eo.to_cog(d / "a.tif")),
    "to_zarr": _with_tmp(_optical, lambda c, d: c.eo.to_zarr(d / "a.zarr")),
    # denoising and SAR
    "denoise": _on(_s1, lambda c: c.eo.denoise("lee", size=5)),
    "to_db": _on(_s1, lambda c: c.eo.to_db()),
    "to_linear": _on(lambda: _s1().eo.to_db(), lambda c: c.eo.to_linear()),
    "multilook": _on(_s1, lambda c: c.eo.multilook(factors=2)),
    "estimate_looks": _on(lambda: _s1().isel(time=0, band=0), lambda c: c.eo.estimate_looks()),
    "dual_pol_ratio": _on(_s1, lambda c: c.eo.dual_pol_ratio()),
    "dual_pol_rvi": _on(_s1, lambda c: c.eo.dual_pol_rvi()),
    # spectral indices
    "index": _on(_s2, lambda c: c.eo.index("NDVI")),
    "indices": _on(_s2, lambda c: c.eo.indices(["NDVI", "NDWI"])),
    # hyperspectral
    "estimate_noise": _on(_hsi, lambda c: c.eo.estimate_noise("diff")),
    "find_bad_bands": _on(_hsi, lambda c: c.eo.find_bad_bands(noise="diff")),
    "destripe": _on(_hsi, lambda c: c.eo.destripe()),
    "find_dead_pixels": _on(_hsi, lambda c: c.eo.find_dead_pixels()),
    "repair_dead_pixels": _on(_hsi, lambda c: c.eo.repair_dead_pixels()),
    # models
    "apply_model": _apply_model,
    "fit": _fit,
    "sample": _on(_optical, lambda c: c.eo.sample(_gdf(c, "point"), progress=False)),
    "zonal_stats": _on(_optical, lambda c: c.eo.zonal_stats(_gdf(c), progress=False)),
    "rasterize": _on(_optical, lambda c: c.eo.rasterize(_gdf(c), column="label")),
    "batches": _on(_optical, lambda c: c.eo.batches({"y": 16, "x": 16})),
    # embeddings
    "embed": _embed,
    "similarity": _on(_embedding, lambda e: e.eo.similarity(np.ones(e.sizes["feature"]))),
    "kmeans": _on(_embedding, lambda e: e.eo.kmeans(2, progress=False)),
    "pca": _on(_embedding, lambda e: e.eo.pca(2, progress=False)),
    "zonal": _on(_embedding, lambda e: e.eo.zonal(_gdf(_optical()))),
    "to_geoparquet": _with_tmp(_embedding, lambda e, d: e.eo.to_geoparquet(d / "e.parquet")),
    "cloud_mask_csmask": _csmask_case,
    # change detection
    "change": _on(_s2, lambda c: c.isel(time=0).eo.change(c.isel(time=1))),
    "change_omnibus": _on(lambda: _s1(times=4), lambda c: c.eo.change_omnibus(looks=4.4)),
    "bfast_monitor": _on(
        lambda: _s2(times=40, shape=(16, 16)),
        lambda c: c.eo.bfast_monitor(monitor_start=c.time.values[30]),
    ),
    "vectorize": _on(_change_mask, lambda m: m.eo.vectorize()),
    # interactive views
    "plot_rgb": _on(_s2, lambda c: c.eo.plot_rgb()),
    "explore": _on(_s2, lambda c: c.eo.explore()),
    "plot_spectra": _on(_hsi, lambda c: c.eo.plot_spectra(points=[(float(c.x[3]), float(c.y[3]))])),
}


def _materialise(result: Any) -> None:
    """Evaluate a lazy result, to check that the graph it built runs."""
    if isinstance(result, xr.DataArray | xr.Dataset):
        result.compute()
    elif isinstance(result, tuple):
        for r in result:
            _materialise(r)


def _check(verb: str, kind: str, tmp: Path) -> None:
    """The verb builds its result without computing, or is allowlisted and computes."""
    assert verb in CASES, f"`{verb}` has no laziness case: add one to CASES (and maybe ALLOWLIST)"
    call = CASES[verb](tmp, kind)
    result = None
    with et.raise_if_dask_computes() as sched:
        try:
            result = call()
        except Exception:
            # the counting scheduler's error may come back wrapped (e.g. as a WriteError)
            if not sched.total:
                raise
    computed = sched.total > 0
    if verb in ALLOWLIST:
        assert computed, f"`{verb}` is lazy now: remove it from ALLOWLIST ({ALLOWLIST[verb]})"
        return
    assert not computed, f"`{verb}` computes at call time: make it lazy or allowlist it"
    _materialise(result)


@pytest.mark.parametrize("verb", sorted(EODataArrayAccessor._verbs()))
def test_dataarray_verb_is_lazy_or_allowlisted(verb: str, tmp_path: Path) -> None:
    _check(verb, "dataarray", tmp_path)


@pytest.mark.parametrize("verb", sorted(EODatasetAccessor._verbs()))
def test_dataset_verb_is_lazy_or_allowlisted(verb: str, tmp_path: Path) -> None:
    _check(verb, "dataset", tmp_path)


def test_allowlist_names_real_verbs() -> None:
    verbs = set(EODataArrayAccessor._verbs()) | set(EODatasetAccessor._verbs())
    assert set(ALLOWLIST) <= verbs, sorted(set(ALLOWLIST) - verbs)


# --- options that change whether a verb computes ---------------------------------------------

#: ``(call, reason)``: the reason is None for a lazy call, else why it computes now.
OPTIONS: dict[str, tuple[Callable[[xr.DataArray], Any], str | None]] = {
    "estimate_noise('hysime')": (
        lambda c: c.eo.estimate_noise("hysime"),
        "a fit: the regression needs the band moments now (its pixel-set checks raise at call)",
    ),
    "find_bad_bands(noise='hysime')": (
        lambda c: c.eo.find_bad_bands(),
        "the default noise='hysime' is a fit (see estimate_noise('hysime'))",
    ),
    "find_dead_pixels(noise='hysime')": (
        lambda c: c.eo.find_dead_pixels(noise="hysime"),
        "noise='hysime' is a fit (see estimate_noise('hysime'))",
    ),
    "find_dead_pixels(noise=sigma)": (
        lambda c: c.eo.find_dead_pixels(noise=c.eo.estimate_noise("diff")),
        None,
    ),
    "destripe(offsets='moments')": (lambda c: c.eo.destripe(offsets="moments"), None),
    "destripe(mode='multiplicative')": (lambda c: c.eo.destripe(mode="multiplicative"), None),
    "denoise('mnf')": (
        lambda c: c.eo.denoise("mnf"),
        "a fit: the MNF transform is fitted on the cube (progress bar)",
    ),
    "denoise('pca')": (
        lambda c: c.eo.denoise("pca"),
        "a fit: the principal axes are fitted on the cube (progress bar)",
    ),
    "denoise('subspace')": (
        lambda c: c.eo.denoise("subspace"),
        "a fit: the HySime subspace is fitted on the cube (progress bar)",
    ),
    "denoise('tv')": (lambda c: c.eo.denoise("tv", n_iter=5), None),
    "denoise('tv', noise=sigma)": (
        lambda c: c.eo.denoise("tv", noise=c.eo.estimate_noise("diff"), n_iter=5),
        None,
    ),
    "denoise('tv', halo=4)": (lambda c: c.eo.denoise("tv", halo=4, n_iter=5), None),
    "denoise('tv', noise='hysime')": (
        lambda c: c.eo.denoise("tv", noise="hysime", n_iter=5),
        "the HySime noise fit that weights the TV is computed now (progress bar)",
    ),
    "denoise('savgol')": (lambda c: c.eo.denoise("savgol"), None),
    "batches(max_nodata_fraction=0.5)": (
        lambda c: c.eo.batches({"y": 16, "x": 16}, max_nodata_fraction=0.5),
        "the nodata mask is read now to drop patches with too much nodata",
    ),
}


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_option_is_lazy_or_documented(option: str) -> None:
    call, reason = OPTIONS[option]
    cube = _hsi()
    _lazy_or_documented(option, lambda: call(cube), reason)


def _lazy_or_documented(name: str, call: Callable[[], Any], reason: str | None) -> None:
    """``call()`` computes nothing when ``reason`` is None, and computes when it is given."""
    with et.raise_if_dask_computes() as sched:
        try:
            result = call()
        except RuntimeError:
            if not sched.total:
                raise
    if reason is None:
        assert sched.total == 0, f"{name} computes at call time"
        _materialise(result)
    else:
        assert sched.total > 0, f"{name} is lazy now: mark it lazy ({reason})"


# --- the hyperspectral verbs made lazy give the eager results, on any chunking ---------------

HSI_LAZY = {
    "destripe": lambda c: c.eo.destripe(),
    "destripe_rows": lambda c: c.eo.destripe(dim="y"),
    "destripe_multiplicative": lambda c: c.eo.destripe(mode="multiplicative"),
    "destripe_moments": lambda c: c.eo.destripe(offsets="moments"),
    "estimate_noise": lambda c: c.eo.estimate_noise("diff"),
    "find_bad_bands": lambda c: c.eo.find_bad_bands(noise="diff"),
    "find_bad_bands_sigma": lambda c: c.eo.find_bad_bands(
        noise=c.eo.estimate_noise("diff").drop_vars("snr"), wavelength_ranges=None
    ),
    "find_dead_pixels": lambda c: c.eo.find_dead_pixels(),
    "repair_dead_pixels": lambda c: c.eo.repair_dead_pixels(),
    "tv": lambda c: c.eo.denoise("tv", n_iter=10),  # the "diff" sigma weights stay in the graph
}


@pytest.mark.parametrize("name", sorted(HSI_LAZY))
def test_hsi_lazy_results_equal_the_eager_ones(name: str) -> None:
    func = HSI_LAZY[name]
    scene = synthetic_hsi(seed=1, shape=(40, 36), n_bands=24)
    expected = func(scene.cube)
    assert not eoxr_is_dask(expected)
    for chunks in ({"y": 20, "x": 18}, {"y": 13, "x": 36}, {"y": 40, "x": 7}):
        with et.raise_if_dask_computes():
            got = func(scene.cube.chunk(chunks))
        assert eoxr_is_dask(got), chunks
        got = got.compute()
        for a, b in [(got, expected), *((got[k], expected[k]) for k in expected.coords)]:
            assert a.dims == b.dims, (name, chunks)
            if a.dtype.kind == "f":  # sums over other chunkings differ by rounding only
                np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6)
            else:
                np.testing.assert_array_equal(a.values, b.values, err_msg=str(chunks))
        assert set(got.coords) == set(expected.coords)
        # the history starts with a time stamp
        strip = {**got.attrs, "history": got.attrs["history"].split(" ", 1)[1]}
        assert strip == {**expected.attrs, "history": expected.attrs["history"].split(" ", 1)[1]}


def test_lazy_call_computes_a_shared_statistic_once() -> None:
    from eoxr._dask import blockwise, lazy

    calls = []

    def read(block: np.ndarray) -> np.ndarray:
        calls.append(block.shape)
        return block

    cube = xr.DataArray(np.arange(16.0).reshape(4, 4), dims=("y", "x")).chunk(2)
    total = lazy.lazy_call(np.sum, blockwise.map_blocks(read, cube))
    twice = lazy.lazy_call(lambda t: 2 * t, total)
    plus = lazy.lazy_call(lambda t: t + 1, total)
    got = (xr.DataArray(twice) + xr.DataArray(plus)).compute()
    assert float(got) == 3 * 120 + 1
    assert len(calls) == 4  # each of the 4 blocks read once, for both consumers
    assert float(lazy.lazy_call(np.sum, cube.values)) == 120  # numpy: now


# --- functions outside the accessor, and calls on other objects ------------------------------


def _pair() -> tuple[xr.DataArray, xr.DataArray]:
    cube = _s2()
    return cube.isel(time=0), cube.isel(time=1)


def _change(name: str, **kw: Any) -> Callable[[], Callable[[], Any]]:
    def build() -> Callable[[], Any]:
        from eoxr import change

        a, b = _pair()
        return lambda: getattr(change, name)(a, b, **kw)

    return build


def _threshold() -> Callable[[], Any]:
    from eoxr import change

    a, b = _pair()
    return lambda: change.threshold(change.difference(a.sel(band="B08"), b.sel(band="B08")))


def _metric() -> Callable[[], Any]:
    from eoxr import metrics

    cube = _hsi()
    return lambda: metrics.mpsnr(cube, cube)


def _rcf(mode: str) -> Callable[[], Callable[[], Any]]:
    def build() -> Callable[[], Any]:
        from eoxr.embed import encoder

        cube = _optical()
        return lambda: encoder(
            "rcf", bands=["red", "nir"], features=4, size=3, mode=mode, data=cube
        )

    return build


def _omnibus_estimating_looks() -> Callable[[], Any]:
    series = _s1(times=3)
    return lambda: series.eo.change_omnibus()  # no looks given: the estimate stays in the graph


def _similarity_at_a_point() -> Callable[[], Any]:
    emb = _embedding()
    return lambda: emb.eo.similarity((float(emb.x[1]), float(emb.y[1])))


#: ``(build, reason)``: ``build()`` prepares the inputs and returns the call to check; the reason
#: is None for a lazy call, else why it computes now. The README's list of what computes at call
#: time names these, with the ALLOWLIST and OPTIONS above.
FUNCTIONS: dict[str, tuple[Callable[[], Callable[[], Any]], str | None]] = {
    "eoxr.change.difference": (_change("difference"), None),
    "eoxr.change.cva(standardize=False)": (_change("cva", standardize=False), None),
    "eoxr.change.cva": (_change("cva"), None),
    "eoxr.change.change(method='irmad')": (_change("change", method="irmad"), "the IR-MAD fit"),
    "eoxr.change.irmad": (_change("irmad"), "a fit on a seeded pixel sample"),
    "eoxr.change.pca_kmeans": (_change("pca_kmeans"), "a fit: PCA and k-means on the difference"),
    "eoxr.change.threshold": (_threshold, "a global threshold: one histogram pass"),
    "eoxr.metrics": (_metric, "returns numbers"),
    "eoxr.embed.encoder('rcf', data=cube)": (_rcf("gaussian"), "band statistics from data"),
    "eoxr.embed.encoder('rcf', mode='empirical', data=cube)": (
        _rcf("empirical"),
        "a fit: kernels drawn from windows of data",
    ),
    "similarity(query=(x, y))": (_similarity_at_a_point, "the query vector is read at the point"),
    "change_omnibus() (looks estimated)": (_omnibus_estimating_looks, None),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_is_lazy_or_documented(name: str) -> None:
    build, reason = FUNCTIONS[name]
    _lazy_or_documented(name, build(), reason)
