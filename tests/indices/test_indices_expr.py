"""The safe formula compiler: whitelist, rejection of everything else, numerics."""

from __future__ import annotations

import numpy as np
import pytest

import eoxr  # noqa: F401  (registers .eo)
import eoxr.testing as et
from eoxr.errors import CatalogError
from eoxr.indices import _expr


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "N.real",
        "N[0]",
        "lambda: 1",
        "'abc'",
        "N if R else 1",
        "N and R",
        "not N",
        "N % 2",
        "N // R",
        "open('x')",
        "sqrt(x=N)",
        "where(N > 0, N)",
        "sqrt",
        "N @ R",
        "[N, R]",
        "True + N",
        "1j * N",
        "(N := 2)",
        "N; R",
    ],
)
def test_disallowed_constructs_rejected(text):
    with pytest.raises(CatalogError, match="not allowed|not a valid expression"):
        _expr.parse(text)


def test_names_exclude_function_names():
    tree = _expr.parse("where(N > R, sqrt(abs(N - R)), max(N, R, L))")
    assert _expr.names(tree) == {"N", "R", "L"}
    assert _expr.is_nan_blind(tree)
    assert not _expr.is_nan_blind(_expr.parse("(N - R) / (N + R) ** 0.5"))


def test_integer_literals_become_float():
    src = _expr.to_source(_expr.parse("(1/3) * N ** 2 - R ** 0.5 + B ** 3"), lambda n: f"v_{n}")
    assert src == "(((_div(1.0, 3.0) * _sq(v_N)) - np.sqrt(v_R)) + _pow(v_B, 3.0))"


CUBE = et.make_cube(bands=["B02", "B04", "B08"], ny=16, nx=16, times=2, seed=3, nan_fraction=0.1)
N = CUBE.sel(band="B08").values.astype("float64")
R = CUBE.sel(band="B04").values.astype("float64")
B = CUBE.sel(band="B02").values.astype("float64")


@pytest.mark.parametrize(
    "formula, oracle",
    [
        ("where(N > 0.3, N - R, R - B)", lambda: np.where(N > 0.3, N - R, R - B)),
        (
            "abs(R - N) + sqrt(N) - exp(-B) + log(R)",
            lambda: np.abs(R - N) + np.sqrt(N) - np.exp(-B) + np.log(R),
        ),
        ("min(N, R, B) * max(N, R)", lambda: np.minimum(np.minimum(N, R), B) * np.maximum(N, R)),
        ("tanh(((N - R) / (N + R)) ** 2)", lambda: np.tanh(((N - R) / (N + R)) ** 2)),
        ("(N >= R) * 2 - (0.1 < B <= 0.4)", lambda: (N >= R) * 2.0 - ((B > 0.1) & (B <= 0.4))),
        ("-N + +R", lambda: -N + R),
        ("(nir - red) / (nir + red)", lambda: (N - R) / (N + R)),
        ("(B08 - B04) / (B08 + B04)", lambda: (N - R) / (N + R)),
    ],
)
def test_custom_formulas_match_numpy(formula, oracle):
    got = CUBE.eo.index(formula)
    expected = oracle().astype("float32")
    # NaN in -> NaN out even for where/min/max/comparisons, which numpy would not propagate.
    nan_in = np.isnan(N) | np.isnan(R) | np.isnan(B)
    expected = np.where(nan_in, np.nan, expected)
    np.testing.assert_allclose(got.values, expected, rtol=1e-6, equal_nan=True)
    assert got.dtype == np.float32
    assert got.attrs["formula"] == formula


@pytest.mark.parametrize(
    "text, why",
    [
        ("1e999 * N", "finite"),  # 'inf' would reach the generated source
        ("N ** 1e400", "finite"),
        ("1" + "0" * 400 + " * N", "finite"),  # an integer beyond the float range
        ("-" * 5000 + "N", "characters"),
        ("-" * 3000 + "N", "nested too deeply|nests more"),  # CPython's parser gives up here
        ("+".join(["N"] * 150), "nests more"),
        ("sqrt(" * 150 + "N" + ")" * 150, "nests more"),
        ("(" * 300 + "N" + ")" * 300, "not a valid expression"),  # the tokenizer's own limit
        ("max(" + ", ".join(["N"] * 150) + ")", "nests more"),  # becomes 149 nested _max calls
    ],
)
def test_hostile_formulas_rejected_cleanly(text, why):
    # Pathological input must give CatalogError, never RecursionError, NameError from the
    # generated code, or a kernel file written to the cache.
    with pytest.raises(CatalogError, match=why):
        CUBE.eo.index(text)


def test_expression_constants_cannot_nest_past_the_limit():
    deep = "+".join(["N"] * 60)
    with pytest.raises(CatalogError, match="nests more"):
        CUBE.eo.index("a * b", a=deep, b=f"a + {deep}")
    ok = CUBE.eo.index("max(" + ", ".join(["N"] * 50) + ", R)")  # within the limit
    np.testing.assert_allclose(
        ok.values, np.where(np.isnan(R), np.nan, np.maximum(N, R)), rtol=1e-6, equal_nan=True
    )
