"""Issue 21 "One vocabulary": option names and calling conventions shared by every verb.

CONTRIBUTING.md ("Vocabulary") states the rules; these tests hold the public signatures to them:
options keyword-only, the renamed options gone, ``progress=`` on every verb that computes at call
time and plumbed through to the progress bar.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import eoxr  # noqa: F401  (registers the accessor)
from eoxr._dask import progress as dask_progress
from eoxr._registry import resolve
from eoxr.accessor import EODataArrayAccessor, EODatasetAccessor
from tests.core.test_laziness import (
    ALLOWLIST,
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
    # views (eoxr.plot, issue "interactive exploration"): not renamed here
    "plot_rgb": ("bands",),
    "plot_spectra": ("points",),
}

#: Names the vocabulary retired, with the name that replaced them.
RETIRED = {
    "enl": "looks",
    "stat": "stats",
    "threshold": "threshold_method (a method) or <what>_threshold (a number)",
    "block": "size (a window)",
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
    from eoxr import change, datasets, load_stac

    with pytest.raises(TypeError, match="positional"):
        load_stac(datasets.catalog_path("landsat_colorado"), ["nir"])
    e = _embedding()
    with pytest.raises(TypeError, match="positional"):
        change.embedding_distance(e, e, "euclidean")
    assert float(change.embedding_distance(e, e, metric="euclidean").max()) == 0.0


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


def test_retired_names_are_gone() -> None:
    found = {
        name: sorted(set(inspect.signature(f).parameters) & set(RETIRED))
        for name, f in _public_functions().items()
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


def _change_irmad() -> Callable[..., Any]:
    a, b = _pair()
    return lambda **kw: a.eo.change(b, method="irmad", **kw)


def _estimate_looks() -> Callable[..., Any]:
    cube = _s1().isel(time=0, band=0)
    return lambda **kw: cube.eo.estimate_looks(**kw)


def _omnibus() -> Callable[..., Any]:
    series = _s1(times=3)
    return lambda **kw: series.eo.change_omnibus(**kw)  # no looks given: estimated now


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


PROGRESS_CASES: dict[str, Callable[[Path], Callable[..., Any]]] = {
    "change(method='irmad')": lambda _: _change_irmad(),
    "estimate_looks": lambda _: _estimate_looks(),
    "change_omnibus": lambda _: _omnibus(),
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
