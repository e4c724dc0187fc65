"""Results on dask.distributed equal the local threaded results."""

import numpy as np
import pytest

from eoxr import datasets
from tests.conftest import require

distributed = require("distributed", extra="distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.mark.slow  # 8-15 s of real subprocesses: in `make test-slow` (CI runs it), not `make test`
def test_stac_mask_composite_on_cluster(client):
    ds = datasets.open("landsat_colorado", chunks={"x": 32, "y": 32}).isel(time=slice(0, 20))
    pipeline = ds.eo.mask_clouds(buffer=1).eo.composite("max_ndvi")
    on_cluster = pipeline.compute()  # the client is the default scheduler here
    local = pipeline.compute(scheduler="threads")
    for name in ("red", "nir", "swir16"):
        np.testing.assert_array_equal(on_cluster[name].values, local[name].values)
