"""One call to get a Dask cluster, the same on a laptop and on a cluster: :func:`client`.

A notebook that starts with ``client = eoxr.client()`` runs unchanged on a laptop (a
``LocalCluster`` of worker processes sized to the machine) and on a deployment that publishes its
scheduler in ``DASK_SCHEDULER_ADDRESS`` (dask-gateway, dask-jobqueue, the Dask Kubernetes
operator, or ``eoxr batch``). eoxr's verbs ship models and estimators to each worker once (one
graph key per model), so they work the same on workers that are separate processes.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import ClusterError

#: Environment variable naming the scheduler to connect to, as set by Dask deployments.
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def _machine() -> tuple[int, int]:
    """Usable cores (CPU affinity, not the host's count) and total memory in bytes."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    import psutil  # a dependency of distributed

    return cores, int(psutil.virtual_memory().total)


def local_sizes(n_workers: int | None, threads_per_worker: int | None) -> dict[str, Any]:
    """Worker count, threads and memory limit of the LocalCluster :func:`client` would start.

    Defaults: one single-threaded worker process per core on up to 4 cores (numpy kernels
    release the GIL poorly), 2 threads per worker beyond; the machine's memory is split evenly
    leaving 10 % to the system.
    """
    cores, memory = _machine()
    if threads_per_worker is None:
        threads_per_worker = 1 if cores <= 4 else 2
    if n_workers is None:
        n_workers = max(1, cores // threads_per_worker)
    return {
        "n_workers": int(n_workers),
        "threads_per_worker": int(threads_per_worker),
        "memory_limit": int(memory * 0.9 / n_workers),
    }


def client(
    address: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
    timeout: float = 30.0,
    verbose: bool = True,
    **kwargs: Any,
) -> Any:
    """A ``distributed.Client``: to ``address``, else ``$DASK_SCHEDULER_ADDRESS``, else local.

    Parameters
    ----------
    address : str, optional
        Scheduler address (``tcp://host:8786``). Default: the ``DASK_SCHEDULER_ADDRESS``
        environment variable; when neither is set, a ``LocalCluster`` of worker processes is
        started, owned by the client: ``client.close()`` or leaving a ``with`` block stops it.
    n_workers, threads_per_worker : int, optional
        Size of the local cluster (default: sized to the cores and memory, see
        :func:`local_sizes`); ignored when connecting to a scheduler.
    timeout : float
        Seconds to wait for the scheduler before raising :class:`~eoxr.errors.ClusterError`.
    verbose : bool
        Print the dashboard link.
    **kwargs
        Passed to ``distributed.LocalCluster`` (local) or ``distributed.Client`` (remote).

    Returns
    -------
    distributed.Client
        The client, also made the default scheduler of dask (and so of eoxr).

    Raises
    ------
    ClusterError
        The scheduler at ``address`` did not answer within ``timeout`` seconds.
    ImportError
        ``distributed`` is not installed (``pip install "eoxr[distributed]"``).

    Examples
    --------
    >>> import eoxr
    >>> with eoxr.client(n_workers=1, verbose=False, processes=False) as c:
    ...     len(c.scheduler_info()["workers"])
    1
    """
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            'eoxr.client needs dask.distributed: `pip install "eoxr[distributed]"`'
        ) from err
    address = address or os.environ.get(SCHEDULER_ENV) or None
    if address:
        try:
            c = distributed.Client(address, timeout=timeout, **kwargs)
        except (OSError, TimeoutError) as err:
            raise ClusterError(
                f"no Dask scheduler answered at {address!r} within {timeout:g} s ({err}). Check "
                f"the address (or ${SCHEDULER_ENV}) and that `dask scheduler` is running, or "
                "call eoxr.client() without an address for a local cluster."
            ) from err
    else:
        kwargs.setdefault("processes", True)
        kwargs.setdefault("dashboard_address", ":0")  # a free port: no clash with other sessions
        sizes = local_sizes(n_workers, threads_per_worker)
        if not kwargs["processes"]:
            sizes.pop("memory_limit")
        # The client owns this cluster: closing the client (or leaving `with`) stops the workers.
        c = distributed.Client(timeout=timeout, **{**sizes, **kwargs})
    if verbose:
        print(f"Dask dashboard: {c.dashboard_link}")
    return c


__all__ = ["client", "local_sizes", "SCHEDULER_ENV"]
