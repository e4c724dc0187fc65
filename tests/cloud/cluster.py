"""A real Dask cluster on loopback: `dask scheduler` and `dask worker` processes.

Each process runs in its own empty folder (``cwd`` and ``--local-directory``), so nothing on
disk is shared between them, as on a cloud cluster: what a worker writes must go to object
storage. Free ports are chosen by the OS (``--port 0``, the address read from
``--scheduler-file``); every wait is bounded, and the processes are stopped on exit.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.conftest import require, require_program


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


@contextmanager
def dask_cluster(
    tmp: Path, env: Mapping[str, str], n_workers: int = 2, memory_limit: str = "2GiB"
) -> Iterator[str]:
    """Address of a scheduler with ``n_workers`` single-threaded workers, each in its own folder.

    ``tmp/scheduler``, ``tmp/worker-0``... are created empty; each process's log is
    ``<its folder>.log`` beside them.
    """
    distributed = require("distributed", extra="distributed")
    procs: list[subprocess.Popen] = []
    with ExitStack() as stack:

        def start(args: list[str], name: str) -> None:
            home = tmp / name
            home.mkdir()
            log = stack.enter_context(open(tmp / f"{name}.log", "w"))
            procs.append(
                subprocess.Popen(
                    args, env=dict(env), cwd=home, stdout=log, stderr=subprocess.STDOUT
                )
            )

        stack.callback(lambda: _stop(procs[::-1]))
        sched_file = tmp / "scheduler.json"
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
        for i in range(n_workers):
            start(
                _dask_command(
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--memory-limit",
                    memory_limit,
                    "--local-directory",
                    str(tmp / f"worker-{i}"),
                ),
                f"worker-{i}",
            )
        with distributed.Client(address, timeout=30) as c:
            c.wait_for_workers(n_workers, timeout=90)
        yield address
