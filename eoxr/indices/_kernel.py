"""The fused index kernel: many formulas, one pass over the bands, generated for numba.

For a set of compiled formulas the kernel reads each input pixel once (as float64), evaluates
every formula in float64 and stores each result as float32 (whatever the input type) into its
own output array. Index computation is memory-bound: one read of the bands
and one write per index is the floor, so temporaries are what a numpy expression pays for, and
float64 arithmetic costs nothing here while it removes the float32 cancellation of formulas such
as NDDI or TGI.

Numerical rules (documented in :func:`eoxr.indices.index`):

* a division by zero gives NaN (not +-inf), and so does any other pole: a result that is +-inf
  or that overflows the output dtype is stored as NaN;
* NaN in -> NaN out: arithmetic propagates NaN, and formulas with comparisons, ``where``,
  ``min`` or ``max`` get an explicit guard;
* a negative base raised to a fractional power is NaN (as in numpy); a NaN base or exponent
  gives NaN even where IEEE says 1 (``NaN ** 0``, ``1 ** NaN``).

The kernel is serial and releases the GIL: dask runs one call per chunk on its own threads, and
eager numpy input is split into row bands run on a small thread pool (numba's own parallel
layer is avoided because its default "workqueue" layer aborts when two threads launch parallel
kernels at once, which is exactly what dask does).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np

#: Formulas per generated kernel. LLVM's compile time grows faster than linearly with the loop
#: body (all 244 Sentinel-2-computable ASI indices in one kernel: 34 s; 10: 1 s), so larger
#: requests run several kernels back to back inside the same task, on the same in-memory blocks.
GROUP = 16
_LOCK = threading.Lock()  # dask may start the first chunks of a new plan on two threads at once

# Numba's "numpy" error model: float division and pow follow IEEE (no Python exceptions).
_JIT = {"nogil": True, "error_model": "numpy", "cache": True}


@numba.njit(**_JIT)
def _div(a: float, b: float) -> float:
    return a / b if b != 0.0 else np.nan


@numba.njit(**_JIT)
def _pow(a: float, b: float) -> float:
    # IEEE gives NaN ** 0 = 1 and 1 ** NaN = 1: propagate NaN explicitly (NaN in -> NaN out).
    return np.nan if a != a or b != b else a**b


@numba.njit(**_JIT)
def _sq(a: float) -> float:
    return a * a


@numba.njit(**_JIT)
def _min(a: float, b: float) -> float:
    return a if a < b else b


@numba.njit(**_JIT)
def _max(a: float, b: float) -> float:
    return a if a > b else b


@dataclass(frozen=True)
class Formula:
    """One output of the kernel: its source expression and the inputs it reads."""

    #: float64 scalar expression over ``x0..xn`` (bands) and ``c0..cm`` (constants).
    source: str
    #: Indices of the band inputs it reads (for the NaN guard).
    inputs: tuple[int, ...]
    #: True when NaN inputs would not propagate on their own (comparisons, where, min, max).
    nan_guard: bool


@dataclass(frozen=True)
class Plan:
    """Everything that shapes the generated code (hashable: compiled kernels are cached)."""

    formulas: tuple[Formula, ...]
    n_bands: int
    n_constants: int
    #: Inputs are rescaled (``x * scale + offset``) in the kernel (digital numbers).
    rescale: bool = False
    #: Inputs equal to ``nodata`` become NaN.
    use_nodata: bool = False


def _source(plan: Plan, out_max: float) -> str:
    """Python source of the kernel for ``plan``."""
    xs = [f"x{i}" for i in range(plan.n_bands)]
    cs = [f"c{i}" for i in range(plan.n_constants)]
    outs = [f"o{k}" for k in range(len(plan.formulas))]
    args = ", ".join(
        [
            *outs,
            "r0",
            "r1",
            *[f"a{i}" for i in range(plan.n_bands)],
            *cs,
            "scale",
            "offset",
            "nodata",
        ]
    )
    lines = [
        f"def kernel({args}):",
        "    ny = o0.shape[1]",
        "    nx = o0.shape[2]",
        "    for r in range(r0, r1):",
        "        l = r // ny",
        "        j = r - l * ny",
        "        for i in range(nx):",
    ]
    pad = " " * 12
    used = sorted({i for f in plan.formulas for i in f.inputs})
    for i in used:  # a group loads only the bands its formulas read
        x = xs[i]
        lines.append(f"{pad}{x} = np.float64(a{i}[l, j, i])")
        if plan.use_nodata:
            lines.append(f"{pad}if {x} == nodata: {x} = np.nan")
        if plan.rescale:
            lines.append(f"{pad}{x} = {x} * scale + offset")
    for k, f in enumerate(plan.formulas):
        if f.nan_guard and f.inputs:
            isnan = " or ".join(f"x{i} != x{i}" for i in f.inputs)
            lines.append(f"{pad}v = np.nan if ({isnan}) else {f.source}")
        else:
            lines.append(f"{pad}v = {f.source}")
        # abs(v) < max is False for NaN, +-inf and values the output dtype cannot hold.
        lines.append(f"{pad}o{k}[l, j, i] = v if abs(v) <= {out_max!r} else np.nan")
    return "\n".join(lines) + "\n"


_HEADER = (
    "# Generated by eoxr.indices._kernel from whitelisted formula trees; safe to delete.\n"
    "import numba\nimport numpy as np\n\n"
    "from eoxr.indices._kernel import _div, _max, _min, _pow, _sq\n\n\n"
    "@numba.njit(nogil=True, error_model='numpy', cache=True)\n"
)


def cache_dir() -> Path | None:
    """Folder of the on-disk kernel cache (``$EOXR_CACHE_DIR`` or ``~/.cache/eoxr``)/kernels.

    Numba caches machine code only for functions defined in files, so generated kernels are
    written there as small modules: a later session loads them instead of compiling again
    (0.5-1 s per kernel). ``EOXR_KERNEL_CACHE=0`` disables it; so does a folder this process
    cannot write, or one that others could write (owned by another user, group- or
    world-writable).
    """
    if os.environ.get("EOXR_KERNEL_CACHE", "1") == "0":
        return None
    base = os.environ.get("EOXR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "eoxr"
    )
    folder = Path(base) / "kernels"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    # The folder holds modules that get imported and numba's pickled machine code: use it only
    # if no other user can write into it (a planted file would run as this user).
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return None
    return folder if os.access(folder, os.W_OK) else None


@lru_cache(maxsize=1)
def _fingerprint() -> str:
    """Changes whenever this module or numba changes, so stale cached kernels are never used."""
    return hashlib.sha256(Path(__file__).read_bytes() + numba.__version__.encode()).hexdigest()


def _load_cached(src: str, folder: Path) -> numba.core.registry.CPUDispatcher:
    key = hashlib.sha256((_fingerprint() + src).encode()).hexdigest()[:32]
    path = folder / f"k_{key}.py"
    text = _HEADER + src
    try:
        # Import only the exact code generated here (never a truncated or foreign file).
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    if current != text:
        tmp = folder / f".k_{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # atomic: concurrent sessions never see half a file
    spec = importlib.util.spec_from_file_location(f"eoxr_kernel_{key}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache re-imports the module by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module.kernel


@lru_cache(maxsize=256)
def compile_plan(plan: Plan, out_dtype: str) -> numba.core.registry.CPUDispatcher:
    """Generate and jit the kernel of ``plan`` (cached per process, and on disk when possible)."""
    src = _source(plan, float(np.finfo(out_dtype).max))
    folder = cache_dir()
    if folder is not None:
        try:
            return _load_cached(src, folder)
        # Read-only or full disk, or numba finds no place for its cache: compile in memory.
        except (OSError, ImportError, RuntimeError):
            pass
    namespace = {"np": np, "_div": _div, "_pow": _pow, "_sq": _sq, "_min": _min, "_max": _max}
    exec(compile(src, f"<eoxr.indices kernel {abs(hash(plan)):x}>", "exec"), namespace)
    return numba.njit(**{**_JIT, "cache": False})(namespace["kernel"])  # no file to cache by


@lru_cache(maxsize=256)
def split(plan: Plan) -> list[Plan]:
    """``plan`` cut into plans of at most :data:`GROUP` formulas."""
    return [
        Plan(
            plan.formulas[i : i + GROUP],
            plan.n_bands,
            plan.n_constants,
            plan.rescale,
            plan.use_nodata,
        )
        for i in range(0, len(plan.formulas), GROUP)
    ]


def kernels_for(plan: Plan, out_dtype: str) -> list:
    """Compiled kernels of ``plan`` (one per group of formulas), compiled once per process."""
    with _LOCK:
        return [compile_plan(p, out_dtype) for p in split(plan)]


def _run_rows(kernels: list, outs: list[list[np.ndarray]], r0: int, r1: int, args: tuple) -> None:
    for kernel, group in zip(kernels, outs):
        kernel(*group, r0, r1, *args)


def _readable(a: np.ndarray) -> np.ndarray:
    """``a`` in a dtype numba can load: float16 (unsupported by numba) is widened per block."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def output_dtype(dtypes: Sequence[np.dtype]) -> np.dtype:
    """float32, whatever the inputs (the arithmetic is float64; an index needs no more digits)."""
    del dtypes  # kept in the signature: the output type is a decision of this module
    return np.dtype("float32")


def _as3d(a: np.ndarray) -> np.ndarray:
    """View (or, for odd layouts, copy) ``a`` as ``(lead, y, x)``."""
    if a.ndim >= 3:
        return a.reshape((-1, *a.shape[-2:]))
    return a.reshape((1,) * (3 - a.ndim) + a.shape)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=max(1, n_threads() - 1), thread_name_prefix="eoxr-indices"
    )


def n_threads() -> int:
    """Threads used for eager (numpy) input: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def evaluate(
    plan: Plan,
    bands: Sequence[np.ndarray],
    constants: Sequence[float],
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float = np.nan,
    threads: int = 1,
) -> tuple[np.ndarray, ...]:
    """Run the fused kernel on numpy blocks; return one array per formula.

    Each output is its own allocation (a view into a stacked block would keep every index
    alive, and a large block is fresh pages for every dask chunk). ``threads > 1`` splits the
    rows among a thread pool (eager numpy input); dask calls this once per chunk with
    ``threads=1``.
    """
    shape = np.broadcast_shapes(*(b.shape for b in bands))
    dtype = output_dtype([b.dtype for b in bands])
    arrays = [_as3d(_readable(b if b.shape == shape else np.broadcast_to(b, shape))) for b in bands]
    outs = [np.empty(arrays[0].shape, dtype=dtype) for _ in plan.formulas]
    kernels = kernels_for(plan, dtype.name)
    groups = [outs[i : i + GROUP] for i in range(0, len(outs), GROUP)]
    args = (*arrays, *[float(c) for c in constants], float(scale), float(offset), float(nodata))
    rows = outs[0].shape[0] * outs[0].shape[1]
    # Below ~1 Mpx the thread hand-off costs more than it saves.
    threads = min(threads, max(1, outs[0].size // (1 << 20)), rows)
    if threads <= 1:
        _run_rows(kernels, groups, 0, rows, args)
    else:
        edges = np.linspace(0, rows, threads + 1).astype(int)
        futures = [
            _pool().submit(_run_rows, kernels, groups, int(a), int(b), args)
            for a, b in zip(edges[1:-1], edges[2:])
        ]
        _run_rows(kernels, groups, 0, int(edges[1]), args)  # the first band in this thread
        for f in futures:
            f.result()
    return tuple(o.reshape(shape) for o in outs)


__all__ = [
    "Formula",
    "Plan",
    "GROUP",
    "split",
    "kernels_for",
    "compile_plan",
    "evaluate",
    "output_dtype",
    "n_threads",
]
