"""The ``.eo`` accessor: verbs offered per kind of object, bound signatures, help."""

import inspect
import pydoc
import typing

import numpy as np
import pytest
import xarray as xr

import eoxr.accessor as acc
from eoxr import datasets
from eoxr._registry import resolve
from eoxr.errors import AccessorError, EoxrError
from eoxr.testing import make_cube

DA = acc.EODataArrayAccessor
DS = acc.EODatasetAccessor
ALL = {**DA._verbs(), **DS._verbs()}
# Conversions are offered on both kinds: on the kind they already are they return it unchanged.
CONVERSIONS: set[str] = set()


def _accepts_dataset(func) -> bool:
    """Whether the annotation of the function's first parameter admits a Dataset."""
    first = next(iter(inspect.signature(func).parameters.values()))
    ann = first.annotation
    parts = [p.strip() for p in ann.split("|")] if isinstance(ann, str) else [ann]
    for part in parts:
        if isinstance(part, str):
            part = func.__globals__.get(part, part)  # module-level aliases such as `Cube`
        if isinstance(part, str) and "Dataset" in part:
            return True
        if part is xr.Dataset or xr.Dataset in typing.get_args(part):
            return True
    return False


def test_registered_classes():
    da, ds = make_cube(times=None), make_cube(times=None, as_dataset=True)
    assert isinstance(da.eo, DA) and isinstance(ds.eo, DS)
    assert DA._verbs().keys() != DS._verbs().keys()


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_verb_resolves_and_is_documented(name):
    func = resolve(ALL[name].target)
    assert callable(func) and func.__doc__, f"{ALL[name].target} has no docstring"


@pytest.mark.parametrize("name", sorted(ALL))
def test_on_flag_agrees_with_the_function_annotation(name):
    verb = ALL[name]
    func = resolve(verb.target)
    if name in CONVERSIONS:
        assert verb.on != "both"
        return
    accepts = _accepts_dataset(func)
    assert accepts == (verb.on in ("both", "dataset")), (
        f"{name}: {verb.target} {'accepts' if accepts else 'does not accept'} a Dataset but the "
        f"accessor line says on={verb.on!r}"
    )


@pytest.mark.parametrize("name", sorted(ALL))
def test_verb_offered_only_on_its_kind(name):
    da, ds = make_cube(times=None), make_cube(times=None, as_dataset=True)
    verb = ALL[name]
    for obj, kind in ((da, "dataarray"), (ds, "dataset")):
        if verb.applies_to(kind):
            assert name in dir(obj.eo)
            assert hasattr(obj.eo, name)
        else:
            assert name not in dir(obj.eo)
            assert not hasattr(obj.eo, name)
            with pytest.raises(AccessorError, match=f"`{name}` works on a"):
                getattr(obj.eo, name)


def test_wrong_kind_error_says_how_to_convert():
    ds = datasets.synthetic_s1(shape=(16, 16), times=1).cube.to_dataset("band")
    with pytest.raises(AttributeError, match=r"select a variable \(`ds\['vv'\]`\)") as err:
        ds.eo.estimate_looks()
    assert isinstance(err.value, EoxrError)
    cube = make_cube()
    assert cube.eo.to_array() is cube  # a layout call works on any cube


def test_class_access_gives_the_function():
    assert xr.DataArray.eo.multilook is resolve("eoxr.sar.multilook:multilook")
    with pytest.raises(AccessorError):
        xr.Dataset.eo.destripe  # noqa: B018


def test_bound_signature_and_help_leave_the_cube_out():
    da = make_cube(times=None)
    func = resolve("eoxr.bands:select_band")
    sig = inspect.signature(da.eo.band)
    assert list(sig.parameters) == list(inspect.signature(func).parameters)[1:]
    assert da.eo.band.__doc__ == func.__doc__
    text = pydoc.render_doc(da.eo.band, renderer=pydoc.plaintext)
    first = text.splitlines()[2]
    assert first.startswith("select_band(name") and "cube" not in first
    assert "eoxr.bands" in text  # the module that documents it


def test_property_verbs_and_calls_on_both_kinds():
    da = make_cube(times=None)
    ds = make_cube(times=None, as_dataset=True)
    assert da.eo.bands == ds.eo.bands == {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08"}
    assert da.eo.sensor == ds.eo.sensor
    np.testing.assert_array_equal(ds.eo.band("nir").values, da.eo.band("nir").values)
    assert list(ds.eo.rename_to_common().data_vars) == ["blue", "green", "red", "nir"]
    ndvi_da, ndvi_ds = da.eo.index("NDVI"), ds.eo.index("NDVI")
    np.testing.assert_allclose(ndvi_ds.values, ndvi_da.values)
    xr.testing.assert_allclose(ds.eo.to_array().drop_vars("wavelength"), da)
    series = make_cube(as_dataset=True)
    xr.testing.assert_allclose(
        series.eo.composite("median").eo.to_array().drop_vars("wavelength"),
        make_cube().eo.composite("median"),
    )


def test_sar_verbs_on_a_dataset_of_polarisations():
    cube = datasets.synthetic_s1(shape=(32, 32), times=1).cube
    ds = cube.to_dataset("band") if "band" in cube.dims else cube.to_dataset(name="vv")
    looked = ds.eo.multilook(factors=2)
    assert set(looked.data_vars) == set(ds.data_vars)
    assert looked.sizes["x"] == ds.sizes["x"] // 2
    filtered = ds.eo.denoise("boxcar", size=3)
    assert set(filtered.data_vars) == set(ds.data_vars)


def test_help_of_the_accessor_lists_only_offered_verbs():
    ds = make_cube(times=None, as_dataset=True)
    text = pydoc.render_doc(ds.eo, renderer=pydoc.plaintext)
    assert " |  composite(" in text and " |  to_array(" in text
    assert "destripe(" not in text and " |  to_dataset(" in text
    assert "destripe" not in dir(DS) and "destripe" in dir(DA)
