"""eoxr.client reaches a real scheduler, and models travel to each worker once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr.cluster import local_sizes
from tests.conftest import require

distributed = require("distributed", extra="distributed")
torch = require("torch", extra="ml")


def test_client_connects_to_address_and_environment(dask_scheduler, monkeypatch, capsys):
    with eoxr.client(dask_scheduler) as c:
        assert c.scheduler.address == dask_scheduler
        assert len(c.scheduler_info()["workers"]) == 2
        sid = c.scheduler_info()["id"]
    assert "Dask dashboard: http" in capsys.readouterr().out
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_scheduler)
    with eoxr.client(verbose=False) as c:  # the variable that deployments set
        assert c.scheduler_info()["id"] == sid


def test_local_cluster_sized_to_the_machine():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    sizes = local_sizes(None, None)
    assert sizes["n_workers"] * sizes["threads_per_worker"] <= max(cores, 1)
    import psutil

    total = psutil.virtual_memory().total
    assert 0.85 * total <= sizes["n_workers"] * sizes["memory_limit"] <= 0.9 * total
    assert local_sizes(3, 2)["n_workers"] == 3


def test_local_client_owns_its_cluster():
    with eoxr.client(n_workers=1, processes=False, verbose=False) as c:
        cluster = c.cluster
        assert len(c.scheduler_info()["workers"]) == 1
    assert cluster.status.name == "closed"


class CountingNet(torch.nn.Module):
    """A 1x1 conv that logs, per process, each time it is unpickled."""

    def __init__(self, log: str) -> None:
        super().__init__()
        self.log = log
        self.conv = torch.nn.Conv2d(2, 1, 1)
        with torch.no_grad():
            self.conv.weight[:] = torch.tensor([[[[1.0]], [[-1.0]]]])
            self.conv.bias[:] = 0.5

    def forward(self, x):
        return self.conv(x)

    def __setstate__(self, state):
        super().__setstate__(state)
        with open(state["log"], "a") as f:
            f.write(f"{os.getpid()}\n")


def _cube(chunks: int) -> xr.DataArray:
    rng = np.random.default_rng(0)
    data = rng.random((2, 64, 64), dtype=np.float32)
    da = xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={"band": ["red", "nir"], "y": np.arange(64.0), "x": np.arange(64.0)},
    )
    return da.chunk({"y": chunks, "x": chunks})


@pytest.mark.slow  # 8-15 s of real subprocesses: in `make test-slow` (CI runs it), not `make test`
def test_model_is_one_graph_key_and_reaches_each_worker_once(dask_scheduler, tmp_path):
    import cloudpickle

    log = tmp_path / "unpickled.log"
    log.touch()
    net = CountingNet(str(log)).eval()
    lazy = _cube(16).eo.apply_model(net, input_dims={"y": 16, "x": 16})
    n_blocks = lazy.data.npartitions
    assert n_blocks == 16
    # The graph holds the model in one key: unpickling every task counts it once.
    graph = dict(lazy.__dask_graph__())
    before = len(log.read_text().split())
    for task in graph.values():
        cloudpickle.loads(cloudpickle.dumps(task))
    assert len(log.read_text().split()) - before == 1
    log.write_text("")

    local = lazy.compute(scheduler="threads")
    # The test module is not importable on the workers: ship the class by value.
    module = sys.modules[CountingNet.__module__]
    cloudpickle.register_pickle_by_value(module)
    try:
        with distributed.Client(dask_scheduler, timeout=30) as c:
            worker_pids = set(c.run(os.getpid).values())
            remote = lazy.compute()
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    xr.testing.assert_allclose(remote, local)
    expected = 0.5 + _cube(64).sel(band="red") - _cube(64).sel(band="nir")
    np.testing.assert_allclose(
        remote.squeeze(drop=True).values, expected.values, rtol=1e-5, atol=1e-5
    )
    pids = [int(p) for p in Path(log).read_text().split()]
    on_workers = [p for p in pids if p in worker_pids]
    # Once per worker at most (where the model is prepared, and where it is fetched), not once
    # per task: 16 blocks would otherwise unpickle it 16 times.
    assert 1 <= len(on_workers) <= len(worker_pids)
    assert len(on_workers) == len(set(on_workers))
