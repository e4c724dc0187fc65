"""Issue 21 "One vocabulary": option names and calling conventions shared by every verb.

CONTRIBUTING.md ("Vocabulary") states the rules; these tests hold the public signatures to them:
options keyword-only, the renamed options gone, ``progress=`` on every verb that computes at call
time and plumbed through to the progress bar.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import eoxr
import eoxr.testing as et
from eoxr import change, datasets, hsi, metrics
from eoxr._dask import progress as dask_progress
from eoxr._registry import resolve
from eoxr.accessor import EODataArrayAccessor, EODatasetAccessor
from tests.core.test_laziness import (
    ALLOWLIST,
    FUNCTIONS,
    OPTIONS,
    _change_mask,
    _embedding,
    _gdf,
    _optical,
    _pair,
    _s1,
)

VERBS = {**EODataArrayAccessor._verbs(), **EODatasetAccessor._verbs()}

#: The main arguments a verb may take positionally (after the cube), the rest keyword-only.
MAIN: dict[str, tuple[str, ...]] = {
    "sensor": ("attrs",),  # detect_sensor(cube_or_labels, attrs): the object's own metadata
    "band": ("name",),
    "declare_sensor": ("sensor",),  # the sensor is what the verb declares
    "composite": ("method",),
    "to_cog": ("path",),
    "to_zarr": ("path",),
    "denoise": ("method",),
    "index": ("name",),
    "indices": ("names",),
    "estimate_noise": ("method",),
    "apply_model": ("model",),
    "fit": ("estimator", "labels"),
    "sample": ("gdf",),
    "zonal_stats": ("gdf",),
    "rasterize": ("gdf",),
    "batches": ("input_dims",),  # required: the patch size is the request
    "embed": ("enc",),
    "similarity": ("query",),
    "kmeans": ("k",),
    "pca": ("n",),
    "zonal": ("gdf",),
    "to_geoparquet": ("path",),
    "change": ("b",),
    "bfast_monitor": ("index",),
}

#: Names the vocabulary retired, with the name that replaced them.
RETIRED = {
    "enl": "looks",
    "stat": "stats",
    "threshold": "threshold_method (a method) or <what>_threshold (a number)",
    "block": "size (a window)",
    "level": "alpha (a significance level)",
    "roc_level": "roc_alpha",
}


def _positional(func: Callable[..., Any]) -> list[str]:
    params = list(inspect.signature(func).parameters.values())[1:]  # the cube
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds]


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_options_are_keyword_only(verb: str) -> None:
    func = resolve(VERBS[verb].target)
    extra = [n for n in _positional(func) if n not in MAIN.get(verb, ())]
    assert not extra, f"`{verb}` takes the options {extra} positionally: put them after `*`"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.eo.multilook(2),
        lambda c: c.eo.rename_to_common("sentinel-2"),
        lambda c: c.eo.zonal_stats(_gdf(c), ["mean"]),
        lambda c: c.eo.rasterize(_gdf(c), "label"),
        lambda c: c.eo.sample(_gdf(c, "point"), "label"),
        lambda c: c.eo.apply_model(object(), {"y": 16, "x": 16}),
    ],
    ids=["multilook", "rename_to_common", "zonal_stats", "rasterize", "sample", "apply_model"],
)
def test_a_positional_option_raises_type_error(call: Callable[[Any], Any]) -> None:
    with pytest.raises(TypeError, match="positional"):
        call(_optical())


def test_hsi_and_sar_options_are_keyword_only() -> None:
    from eoxr.datasets import synthetic_hsi

    cube = synthetic_hsi(shape=(16, 16), n_bands=6).cube
    with pytest.raises(TypeError, match="positional"):
        cube.eo.destripe("y")
    with pytest.raises(TypeError, match="positional"):
        cube.eo.repair_dead_pixels(cube.isel(band=0) > 1)
    with pytest.raises(TypeError, match="positional"):
        _s1().eo.change_omnibus(4.4)


def test_functions_outside_the_accessor_take_options_by_keyword() -> None:
    from eoxr import load_stac

    with pytest.raises(TypeError, match="positional"):
        load_stac(datasets.catalog_path("landsat_colorado"), ["nir"])
    e = _embedding()
    with pytest.raises(TypeError, match="positional"):
        change.embedding_distance(e, e, "euclidean")
    assert float(change.embedding_distance(e, e, metric="euclidean").max()) == 0.0


#: Inputs that may be left out, so take a default yet stay positional: ``(function, parameter)``
#: with the reason. Every other parameter with a default is an option, and keyword-only.
OPTIONAL_INPUTS: dict[tuple[str, str], str] = {
    **{
        (f"eoxr.change.{f}", "b"): "the second date; left out when `a` holds both along `time`"
        for f in ("change", "cva", "difference", "irmad", "pca_kmeans")
    },
    ("eoxr.change.bfast_monitor", "index"): "what it monitors, as `index(cube, name)`",
    ("eoxr.change.threshold", "method"): "the algorithm the function runs",
    ("eoxr.prep.composite", "method"): "the algorithm the verb runs: `composite('median')`",
    ("eoxr.hsi.estimate_noise", "method"): "the algorithm the verb runs: `estimate_noise('diff')`",
    ("eoxr.prep.cloud_mask", "cube"): "the cube holding the quality layer; left out for `mask=`",
    ("eoxr.ml.torch_dataset", "labels"): "the targets; left out for unlabelled patches",
    ("eoxr.bands.detect_sensor", "attrs"): "the metadata of a bare label list",
    ("eoxr.bands.resolve_sensor", "attrs"): "the metadata of a bare label list",
    **{
        (f"eoxr.bands.{f}", "sensor"): "the band table the label is looked up in (its key)"
        for f in ("canonical_name", "is_quality_band", "wavelengths_of", "unread_labels_hint")
    },
    ("eoxr.client", "address"): "the scheduler to connect to",
    ("eoxr.progress", "enabled"): "the switch the context manager sets: `eoxr.progress(False)`",
    ("eoxr.demo.run_demo", "out"): "the folder written to (a path)",
}


def _public_modules() -> list[Any]:
    """``eoxr`` and its public modules: the lazy table and the modules in ``eoxr.__all__``."""
    names = set(eoxr._SUBMODULES)
    names |= {n for n in eoxr.__all__ if inspect.ismodule(getattr(eoxr, n))}
    return [eoxr] + [importlib.import_module(f"eoxr.{n}") for n in sorted(names)]


def _api() -> dict[str, Callable[..., Any]]:
    """Every public function (in a public module's ``__all__``, else defined there without a
    leading underscore) by its public name, and every accessor verb, as ``verb <name>``."""
    out: dict[str, Callable[..., Any]] = {}
    for mod in _public_modules():
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [
                k for k, v in vars(mod).items() if getattr(v, "__module__", "") == mod.__name__
            ]
        for name in names:
            obj = getattr(mod, name)
            if inspect.isfunction(obj) and not name.startswith("_"):
                out[f"{mod.__name__}.{name}"] = obj
    out.update({f"verb {name}": resolve(m.target) for name, m in VERBS.items()})
    return out


API = _api()
#: OPTIONAL_INPUTS by function object (a verb is its function under another name)
_OPTIONAL = {(API[func], param) for func, param in OPTIONAL_INPUTS}


def _positional_options(func: Callable[..., Any]) -> list[str]:
    """Parameters with a default that may be passed by position and are not listed inputs."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind in kinds
        and p.default is not inspect.Parameter.empty
        and (func, p.name) not in _OPTIONAL
    ]


def test_the_walk_covers_the_public_api() -> None:
    # the walk reaches every topic, the top level, and the functions the rule was written for
    for name in (
        "eoxr.client",
        "eoxr.datasets.synthetic_hsi",
        "eoxr.hsi.mnf",
        "eoxr.metrics.compare_filters",
        "eoxr.plot.plot_rgb",
        "eoxr.testing.make_cube",
        "verb change_omnibus",
    ):
        assert name in API, name
    assert {n.split(".")[1] for n in API if n.startswith("eoxr.")} >= set(eoxr._SUBMODULES)
    # a listed optional input names a real parameter of a real function (no stale entries)
    for (func, param), _ in OPTIONAL_INPUTS.items():
        assert param in inspect.signature(API[func]).parameters, (func, param)


@pytest.mark.parametrize("name", sorted(API))
def test_public_options_are_keyword_only(name: str) -> None:
    """CONTRIBUTING "Vocabulary": an input may be positional, an option (a default) may not."""
    extra = _positional_options(API[name])
    assert not extra, (
        f"`{name}` takes the options {extra} by position: put them after `*` (or, for an input "
        "that may be left out, list it in OPTIONAL_INPUTS with the reason)"
    )


def _hsi_small() -> Any:
    return datasets.synthetic_hsi(shape=(8, 8), n_bands=6).cube


@pytest.mark.parametrize(
    "call",
    [
        lambda: datasets.synthetic_hsi(0, (8, 8), 4),
        lambda: et.make_cube(("red", "nir")),
        lambda: hsi.savgol(_hsi_small(), 5),
        lambda: hsi.fit_pca(_hsi_small(), 2),
        lambda: metrics.compare_filters(_s1().isel(time=0, band=0), ["lee"]),
        lambda: _hsi_small().eo.plot_spectra([(0.0, 0.0)]),
    ],
    ids=["synthetic_hsi", "make_cube", "savgol", "fit_pca", "compare_filters", "plot_spectra"],
)
def test_functions_reject_positional_options(call: Callable[[], Any]) -> None:
    with pytest.raises(TypeError, match="positional"):
        call()


def _public_functions() -> dict[str, Callable[..., Any]]:
    import eoxr.change
    import eoxr.hsi
    import eoxr.ml
    import eoxr.sar

    out = {name: resolve(m.target) for name, m in VERBS.items()}
    for mod in (eoxr.change, eoxr.sar, eoxr.hsi, eoxr.ml):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                out[f"{mod.__name__}.{name}"] = obj
    return out


def _options(func: Callable[..., Any]) -> list[str]:
    """The options of ``func``: its keyword-only parameters and those with a default (an input
    such as the ``block`` a dask kernel receives keeps its own name)."""
    return [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY or p.default is not inspect.Parameter.empty
    ]


def test_retired_names_are_gone() -> None:
    found = {
        name: sorted(set(_options(f)) & set(RETIRED))
        for name, f in {**_public_functions(), **API}.items()
    }
    found = {k: v for k, v in found.items() if v}
    assert not found, f"retired option names in {found}: use {RETIRED}"


def test_method_means_the_algorithm() -> None:
    # the choices that are not the verb's algorithm have their own names now
    from eoxr.hsi import destripe
    from eoxr.ml import apply_model

    assert "method" not in inspect.signature(destripe).parameters
    assert "offsets" in inspect.signature(destripe).parameters
    assert "method" not in inspect.signature(apply_model).parameters
    assert "response_method" in inspect.signature(apply_model).parameters


#: Verbs that compute at call time without a progress bar, with the reason.
NO_PROGRESS = {
    "plot_rgb": "a view: reads a bounded sample (<= 512^2 px), no bar",
    "plot_spectra": "a view: reads a few pixels, no bar",
}


@pytest.mark.parametrize("verb", sorted(set(ALLOWLIST) - set(NO_PROGRESS)))
def test_verbs_that_compute_take_progress(verb: str) -> None:
    func = resolve(VERBS[verb].target)
    param = inspect.signature(func).parameters.get("progress")
    assert param is not None, f"`{verb}` computes at call time but has no progress="
    assert param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is None


def _takes_progress(func: Callable[..., Any]) -> bool:
    param = inspect.signature(func).parameters.get("progress")
    return (
        param is not None and param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is None
    )


#: The calls outside ALLOWLIST that compute at call time (test_laziness's OPTIONS and FUNCTIONS
#: with a reason): the function that takes ``progress=``, or why none is shown.
COMPUTING_CALLS: dict[str, str | Callable[[], Callable[..., Any]]] = {
    "estimate_noise('hysime')": lambda: hsi.estimate_noise,
    "find_bad_bands(noise='hysime')": lambda: hsi.find_bad_bands,
    "find_dead_pixels(noise='hysime')": lambda: hsi.find_dead_pixels,
    "denoise('mnf')": lambda: hsi.mnf,  # denoise passes its params to the method
    "denoise('pca')": lambda: hsi.pca,
    "denoise('subspace')": lambda: hsi.subspace,
    "denoise('tv', noise='hysime')": lambda: hsi.tv,
    "batches(max_nodata_fraction=0.5)": lambda: resolve(VERBS["batches"].target),
    "eoxr.change.change(method='irmad')": lambda: resolve(VERBS["change"].target),
    "eoxr.change.irmad": lambda: change.irmad,
    "eoxr.change.pca_kmeans": lambda: change.pca_kmeans,
    "eoxr.change.threshold": lambda: change.threshold,
    "eoxr.embed.encoder('rcf', data=cube)": lambda: _rcf_encoder(),
    "eoxr.embed.encoder('rcf', mode='empirical', data=cube)": lambda: _rcf_encoder(),
    "eoxr.metrics": "functions that return quality numbers for an evaluation, not verbs",
    "similarity(query=(x, y))": "reads the query vector at one point (a few pixels), no bar",
}


def _rcf_encoder() -> Callable[..., Any]:
    from eoxr.embed.rcf import rcf_encoder  # encoder("rcf", ...) passes its options here

    return rcf_encoder


def test_every_call_that_computes_is_classified() -> None:
    computing = {k for k, (_, why) in {**OPTIONS, **FUNCTIONS}.items() if why is not None}
    assert computing == set(COMPUTING_CALLS), computing ^ set(COMPUTING_CALLS)


@pytest.mark.parametrize("call", sorted(k for k, v in COMPUTING_CALLS.items() if callable(v)))
def test_functions_that_compute_take_progress(call: str) -> None:
    func = COMPUTING_CALLS[call]()
    assert _takes_progress(func), f"{call} computes at call time but has no progress=None"


def _change_irmad() -> Callable[..., Any]:
    a, b = _pair()
    return lambda **kw: a.eo.change(b, method="irmad", **kw)


def _estimate_looks() -> Callable[..., Any]:
    cube = _s1().isel(time=0, band=0)
    return lambda **kw: cube.eo.estimate_looks(**kw)


def _vectorize() -> Callable[..., Any]:
    mask = _change_mask()
    return lambda **kw: mask.eo.vectorize(**kw)


def _zonal() -> Callable[..., Any]:
    emb = _embedding()
    gdf = _gdf(_optical())
    return lambda **kw: emb.eo.zonal(gdf, **kw)


def _to_geoparquet(tmp: Path) -> Callable[..., Any]:
    emb = _embedding()
    return lambda **kw: emb.eo.to_geoparquet(tmp / "e.parquet", overwrite=True, **kw)


def _pca_kmeans() -> Callable[..., Any]:
    from eoxr.change import pca_kmeans

    a, b = _pair()
    return lambda **kw: pca_kmeans(a, b, size=3, sample=200, **kw)


def _threshold() -> Callable[..., Any]:
    from eoxr.change import difference, threshold

    a, b = _pair()
    stat = abs(difference(a.sel(band="B08"), b.sel(band="B08")))
    return lambda **kw: threshold(stat, **kw)


def _rcf() -> Callable[..., Any]:
    from eoxr.embed import encoder

    cube = _optical()
    return lambda **kw: encoder("rcf", bands=["red", "nir"], features=4, data=cube, **kw)


PROGRESS_CASES: dict[str, Callable[[Path], Callable[..., Any]]] = {
    "pca_kmeans": lambda _: _pca_kmeans(),
    "threshold": lambda _: _threshold(),
    "encoder('rcf', data=cube)": lambda _: _rcf(),
    "change(method='irmad')": lambda _: _change_irmad(),
    "estimate_looks": lambda _: _estimate_looks(),
    "vectorize": lambda _: _vectorize(),
    "zonal": lambda _: _zonal(),
    "to_geoparquet": _to_geoparquet,
}


@pytest.mark.parametrize("name", sorted(PROGRESS_CASES))
def test_progress_reaches_the_bar_and_false_silences(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    call = PROGRESS_CASES[name](tmp_path)
    asked: list[Any] = []
    want = dask_progress.want_progress

    def spy(progress: bool | None = None) -> bool:
        asked.append(progress)
        return want(progress)

    monkeypatch.setattr(dask_progress, "want_progress", spy)
    monkeypatch.setattr(dask_progress, "_interactive", lambda: True)  # a bar would show by default
    monkeypatch.delenv("EOXR_PROGRESS", raising=False)
    call(progress=False)
    assert asked and set(asked) == {False}, asked
    assert "% Completed" not in capsys.readouterr().out
    asked.clear()
    call()
    assert asked and set(asked) == {None}, asked
