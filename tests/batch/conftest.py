"""A real Dask cluster for the batch tests: `dask scheduler` and `dask worker` on loopback.

The processes are started by the fixture itself (free ports chosen by the OS: ``--port 0``, the
address read from ``--scheduler-file``), waited for with bounded timeouts and torn down in a
finalizer. The worktree is put on ``PYTHONPATH`` so that the workers (and notebook kernels)
import this checkout's eoxr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require, require_program

ROOT = Path(__file__).resolve().parents[2]
N_WORKERS = 2


def _dask_command(*args: str) -> list[str]:
    exe = Path(sys.executable).with_name("dask")
    if exe.exists():
        return [str(exe), *args]
    found = require_program("dask", how="pip install -e '.[distributed]'")
    return [found, *args]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


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
    distributed = require("distributed", extra="distributed")
    tmp = tmp_path_factory.mktemp("dask-cluster")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    sched_file = tmp / "scheduler.json"
    procs: list[subprocess.Popen] = []
    logs = []

    def start(args: list[str], name: str) -> None:
        log = open(tmp / f"{name}.log", "w")  # noqa: SIM115  (closed in the finalizer)
        logs.append(log)
        procs.append(subprocess.Popen(args, env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT))

    try:
        start(
            _dask_command(
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(sched_file),
                "--idle-timeout",
                "900",  # a leaked scheduler stops by itself
            ),
            "scheduler",
        )
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "dask scheduler did not start: " + (tmp / "scheduler.log").read_text()[-2000:]
                )
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written whole, but let the writer close it
        address = json.loads(sched_file.read_text())["address"]
        start(
            _dask_command(
                "worker",
                address,
                "--nworkers",
                str(N_WORKERS),
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--memory-limit",
                "2GiB",
                "--local-directory",
                str(tmp),
            ),
            "worker",
        )
        with distributed.Client(address, timeout=30) as c:
            c.wait_for_workers(N_WORKERS, timeout=90)
        yield address
    finally:
        _stop(procs[::-1])
        for log in logs:
            log.close()
