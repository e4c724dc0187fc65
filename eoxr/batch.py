"""Run one parametrised notebook over many parameter sets: :func:`batch` and ``eoxr batch``.

Each parameter set (an area, a period...) runs the notebook once through papermill, which replaces
the values of the cell tagged ``parameters``. All runs share one Dask cluster: :func:`batch`
starts or connects to it once and hands its address to every run as ``scheduler_address`` (when
the notebook has that parameter). A failed run is reported with its error cell and the others
still run; the summary table says, per run, its status, time and output.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import _objstore as objstore
from .errors import ParameterError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f'eoxr batch needs {module}: `pip install "eoxr[batch]"` (papermill, pyyaml)'
        ) from err


def read_params(source: str | os.PathLike) -> Any:
    """Read a YAML parameter file with a safe loader (no Python objects can be built from it)."""
    yaml = _need("yaml")
    path = Path(source)
    try:
        text = path.read_text()
    except OSError as err:
        raise ParameterError(f"cannot read the parameter file {str(path)!r}: {err}") from err
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as err:
        raise ParameterError(
            f"{str(path)!r} uses a YAML tag that is refused ({err.problem}): parameter files "
            "are read with a safe loader and may hold only plain values, lists and mappings."
        ) from err
    except yaml.YAMLError as err:
        raise ParameterError(f"{str(path)!r} is not valid YAML: {err}") from err


def parameter_sets(params: Any) -> list[tuple[str, dict]]:
    """Name and parameters of each run, from a list of mappings or a mapping of named mappings.

    In a list, a run is named by its ``name`` key (removed from its parameters) or numbered
    (``run-001``...). Names become file names, so they are letters, digits, ``_``, ``.``, ``-``.

    Examples
    --------
    >>> parameter_sets([{"start": "2009-06-01"}, {"name": "late", "start": "2009-07-01"}])
    [('run-001', {'start': '2009-06-01'}), ('late', {'start': '2009-07-01'})]
    """
    if isinstance(params, Mapping) and all(isinstance(v, Mapping) for v in params.values()):
        runs = [(str(k), dict(v)) for k, v in params.items()]
    elif isinstance(params, list) and all(isinstance(v, Mapping) for v in params):
        runs = []
        for i, v in enumerate(params, 1):
            v = dict(v)
            runs.append((str(v.pop("name", f"run-{i:03d}")), v))
    else:
        raise ParameterError(
            "parameters must be a list of mappings (one per run) or a mapping of run names to "
            f"mappings, got {type(params).__name__}: {str(params)[:80]!r}. E.g.\n"
            "- {name: summer, start: '2009-06-01', end: '2009-08-31'}\n"
            "- {name: autumn, start: '2009-09-01', end: '2009-11-30'}"
        )
    if not runs:
        raise ParameterError("the parameter list is empty: give at least one run.")
    names = [n for n, _ in runs]
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise ParameterError(
            f"run names {bad} cannot be file names: use letters, digits, '_', '.', '-'."
        )
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"run names {dup} appear more than once: names must be unique.")
    for name, p in runs:
        keys = [k for k in p if not isinstance(k, str)]
        if keys:
            raise ParameterError(f"run {name!r}: parameter names must be strings, got {keys}.")
    return runs


def notebook_parameters(notebook: str | os.PathLike) -> dict[str, Any]:
    """The parameters a notebook declares in its cell tagged ``parameters`` (name -> info)."""
    nbformat = _need("nbformat")
    papermill = _need("papermill")
    path = Path(notebook)
    if not path.is_file():
        raise ParameterError(f"no notebook at {str(path)!r}.")
    nb = nbformat.read(path, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise ParameterError(
            f"{path.name} has no cell tagged `parameters`, so runs cannot set its values. Put "
            "the values to vary (scheduler_address, bbox, start, end, out...) in one code cell "
            "and add the tag `parameters` to it (Jupyter: View > Cell toolbar > Tags)."
        )
    return dict(papermill.inspect_notebook(str(path)))


def _error_of(err: BaseException) -> str:
    """``Type: message (cell N)`` of a failed run."""
    ename = getattr(err, "ename", type(err).__name__)
    evalue = str(getattr(err, "evalue", err)).strip().splitlines()
    where = f" (cell In[{err.exec_count}])" if getattr(err, "exec_count", None) else ""
    return f"{ename}: {evalue[0] if evalue else ''}{where}"


def batch(
    notebook: str | os.PathLike,
    params: Any,
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    timeout: float | None = 3600,
    connect_timeout: float = 30.0,
    kernel_name: str | None = None,
    printer: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Run ``notebook`` once per parameter set, on one shared Dask cluster.

    Parameters
    ----------
    notebook : str or path
        A notebook with a cell tagged ``parameters``.
    params : str, path, list or mapping
        A YAML file (read with a safe loader) or the parsed value: a list of mappings (one per
        run, named by a ``name`` key) or a mapping of run names to mappings.
    out : str or path
        Folder for the executed notebooks (``<run>.ipynb``) and ``batch_summary.csv``; created
        if missing. A run whose notebook declares ``out`` and does not set it gets ``out/<run>``.
        Or an object-store URL (``s3://bucket/runs``, needs ``eoxr[cloud]``; credentials from
        the standard ``AWS_*`` variables): the notebooks are executed to a local temporary
        folder and each is uploaded there when its run ends, and the runs get ``out/<run>``
        URLs, for a cluster whose workers share no disk.
    scheduler : str, optional
        Scheduler address; default ``$DASK_SCHEDULER_ADDRESS``, else a local cluster of
        ``n_workers`` processes, started once for all runs and closed at the end.
    n_workers : int, optional
        Workers of the local cluster (see :func:`eoxr.client`).
    timeout : float, optional
        Seconds allowed per notebook cell.
    connect_timeout : float
        Seconds to wait for the scheduler.
    kernel_name : str, optional
        Jupyter kernel (default: the notebook's own).
    printer : callable
        Receives the status line of each run and the summary table.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``run``, ``status`` (``ok`` or ``failed``), ``seconds``, ``output``
        (the run's ``out`` parameter, else its executed notebook), ``notebook`` and ``error``
        (exception type, message and cell of a failed run).

    Raises
    ------
    ParameterError
        Parameters that are not a list or mapping of mappings, an unsafe YAML tag, a parameter
        the notebook does not declare, or a notebook without a ``parameters`` cell. Nothing is
        run or written then.
    ClusterError
        The scheduler does not answer.

    Examples
    --------
    >>> runs = [{"name": "summer", "start": "2009-06-01", "end": "2009-08-31"}]
    >>> table = eoxr.batch("notebooks/08_cluster_batch.ipynb", runs, "runs/")  # doctest: +SKIP
    >>> parameter_sets(runs)
    [('summer', {'start': '2009-06-01', 'end': '2009-08-31'})]
    """
    papermill = _need("papermill")
    from .cluster import client

    notebook = Path(notebook)
    runs = parameter_sets(read_params(params) if isinstance(params, str | os.PathLike) else params)
    declared = notebook_parameters(notebook)
    unknown = sorted({k for _, p in runs for k in p} - set(declared))
    if unknown:
        raise ParameterError(
            f"parameters {unknown} are not declared in the `parameters` cell of "
            f"{notebook.name}, which has {sorted(declared)}."
        )
    remote = objstore.is_url(out)
    if remote:  # executed locally, then uploaded: the bucket is checked before anything runs
        fs, prefix = objstore.filesystem(str(out))
        objstore.check_bucket(fs, prefix, str(out))
    local = Path(tempfile.mkdtemp(prefix="eoxr-batch-")) if remote else Path(out)
    rows = []
    with client(scheduler, n_workers=n_workers, timeout=connect_timeout, verbose=False) as shared:
        local.mkdir(parents=True, exist_ok=True)  # only once the input and cluster are good
        address = shared.scheduler.address
        printer(f"eoxr batch: {len(runs)} runs of {notebook.name} on {address}")
        for i, (name, p) in enumerate(runs, 1):
            p = dict(p)
            if "scheduler_address" in declared:
                p.setdefault("scheduler_address", address)
            if "out" in declared:
                p.setdefault("out", objstore.join(out, name))
            executed = local / f"{name}.ipynb"
            t0 = time.perf_counter()
            error = ""
            try:
                papermill.execute_notebook(
                    str(notebook),
                    str(executed),
                    parameters=p,
                    kernel_name=kernel_name,
                    execution_timeout=timeout,
                    cwd=str(notebook.resolve().parent),
                    progress_bar=False,
                    log_output=False,
                )
            except Exception as err:  # any failure of one run is reported, the others go on
                error = _error_of(err)
            seconds = round(time.perf_counter() - t0, 1)
            if remote and executed.exists():
                objstore.upload(executed, fs, f"{prefix}/{executed.name}", str(out))
            status = "failed" if error else "ok"
            rows.append(
                {
                    "run": name,
                    "status": status,
                    "seconds": seconds,
                    "output": str(p.get("out", executed)),
                    "notebook": objstore.join(out, executed.name),
                    "error": error,
                }
            )
            printer(
                f"[{i}/{len(runs)}] {name}: {status} in {seconds:.1f} s"
                + (f": {error}" if error else "")
            )
    table = pd.DataFrame(rows, columns=["run", "status", "seconds", "output", "notebook", "error"])
    table.to_csv(local / "batch_summary.csv", index=False)
    if remote:
        objstore.upload(local / "batch_summary.csv", fs, f"{prefix}/batch_summary.csv", str(out))
        shutil.rmtree(local, ignore_errors=True)
    n_failed = int((table.status == "failed").sum())
    printer(f"\n{len(runs) - n_failed} ok, {n_failed} failed\n")
    printer(table[["run", "status", "seconds", "output"]].to_string(index=False))
    return table


__all__ = ["batch", "parameter_sets", "read_params", "notebook_parameters"]
