"""A real Dask cluster for the batch tests: `dask scheduler` and `dask worker` on loopback.

The processes are started by the fixture itself (``tests/cloud/cluster.py``: free ports chosen
by the OS, bounded waits, each process in its own folder) and torn down at the end. The
worktree is put on ``PYTHONPATH`` so that the workers (and notebook kernels) import this
checkout's eoxr.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cloud.cluster import dask_cluster

ROOT = Path(__file__).resolve().parents[2]
N_WORKERS = 2


@pytest.fixture
def worktree_env(monkeypatch):
    """Subprocesses and notebook kernels import this checkout's eoxr."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("EOXR_PROGRESS", "0")
    return os.environ.copy()


@pytest.fixture(scope="session")
def dask_scheduler(tmp_path_factory):
    """Address of a real `dask scheduler` on 127.0.0.1 with two `dask worker` processes."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with dask_cluster(tmp_path_factory.mktemp("dask-cluster"), env, N_WORKERS) as address:
        yield address
