"""Training batches: xbatcher patches, nodata skipping, torch Dataset + DataLoader."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")
require("xbatcher", extra="ml")

import eoxr.testing as et  # noqa: E402
from eoxr.ml import torch_dataset  # noqa: E402


def test_batches_cover_and_skip_nodata() -> None:
    cube = et.make_cube(ny=32, nx=48, times=2).copy(deep=True)
    cube[0, :, :16, :16] = np.nan  # one full patch of date 0
    gen = cube.eo.batches({"y": 16, "x": 16})
    assert len(gen) == 2 * 2 * 3
    p = gen[1]
    np.testing.assert_array_equal(p.values[0], cube.values[0, :, :16, 16:32])
    kept = cube.eo.batches({"y": 16, "x": 16}, max_nodata_fraction=0.5)
    assert len(kept) == 2 * 2 * 3 - 1
    grouped = cube.eo.batches({"y": 16, "x": 16}, batch_size=5, max_nodata_fraction=0.5)
    sizes = [b.sizes["patch"] for b in grouped]
    assert sizes == [5, 5, 1] and grouped[0].dims[0] == "patch"
    np.testing.assert_array_equal(grouped[1].values[2], kept[7].values)


def test_torch_dataset_with_labels_trains() -> None:
    cube = et.make_cube(ny=32, nx=32, times=None, seed=2)
    labels = (cube.sel(band="B08") > 0.3).astype("float32")
    labels[0, 0] = np.nan
    ds = torch_dataset(cube, labels, input_dims={"y": 16, "x": 16}, mean=[0.3] * 4, std=[0.2] * 4)
    x, y = ds[0]
    assert x.shape == (4, 16, 16) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert y[0, 0] == -100
    np.testing.assert_allclose(x.numpy(), (cube.values[:, :16, :16] - 0.3) / 0.2, rtol=1e-5)
    torch.manual_seed(0)
    net = torch.nn.Conv2d(4, 2, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(30):
        for xb, yb in torch.utils.data.DataLoader(ds, batch_size=4):
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
    pred = cube.eo.apply_model(
        net.eval(), input_dims={"y": 16, "x": 16}, mean=[0.3] * 4, std=[0.2] * 4
    )
    acc = float((pred.argmax("class") == (cube.sel(band="B08") > 0.3)).mean())
    assert acc > 0.97  # a 1x1 conv learns the threshold B08 > 0.3


def test_patches_match_xbatcher_slicing() -> None:
    """Our patch grid cuts what xbatcher cuts (the oracle), in the same order."""
    xbatcher = require("xbatcher", extra="ml")
    cube = et.make_cube(ny=40, nx=45, times=2)
    ours = cube.eo.batches({"y": 16, "x": 16}, input_overlap={"y": 4, "x": 6})
    theirs = xbatcher.BatchGenerator(
        cube,
        input_dims={"band": 4, "y": 16, "x": 16},
        input_overlap={"y": 4, "x": 6},
        batch_dims={"time": 1},
    )
    assert len(ours) == len(theirs) == 2 * 3 * 3
    for i in (0, 4, len(ours) - 1):
        np.testing.assert_array_equal(ours[i].values, theirs[i].values)
        np.testing.assert_array_equal(ours[i].x.values, theirs[i].x.values)


def test_nodata_filter_progress_and_label_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    from eoxr._dask import stats
    from eoxr.errors import GridMismatchError

    calls = []
    real = stats.compute

    def spy(*objs, progress=None):
        calls.append(progress)
        return real(*objs, progress=progress)

    monkeypatch.setattr(stats, "compute", spy)
    cube = et.make_cube(ny=32, nx=32, times=None).chunk({"y": 16})
    kept = cube.eo.batches({"y": 16, "x": 16}, max_nodata_fraction=0.0, progress=False)
    assert len(kept) == 4 and calls == [False]  # the nodata mask: one pass, with progress option
    labels = (cube.sel(band="B08") > 0.3).astype("float32")
    with pytest.raises(GridMismatchError, match="not on the cube's grid"):
        cube.eo.batches({"y": 16, "x": 16}, labels=labels.assign_coords(y=labels.y + 100.0))
