"""`eoxr demo` step for model application: a tiny CNN and a random forest on built-in data."""

from __future__ import annotations

import pathlib
import time

import numpy as np
import xarray as xr

PATCH = {"y": 32, "x": 32}
OVERLAP = {"y": 8, "x": 8}


def scene(seed: int = 0) -> tuple[xr.DataArray, xr.DataArray]:
    """Median composite of the synthetic Sentinel-2 series and its land-cover truth."""
    from ..datasets import synthetic_s2

    s = synthetic_s2(seed=seed, shape=(128, 128), times=6)
    # clouds are bright outliers and one date has a nodata swath: the median skips both
    composite = s.cube.median("time", skipna=True).astype("float32")
    composite.attrs = dict(s.cube.attrs)
    return composite.rio.write_crs(s.cube.rio.crs), s.extras["landcover"]


def train_cnn(
    cube: xr.DataArray, labels: xr.DataArray, *, epochs: int = 25, seed: int = 0
) -> tuple[object, tuple[list[float], list[float]]]:
    """Train a tiny fully-convolutional net on 32 px patches with :func:`eoxr.ml.torch_dataset`.

    The net carries its preprocessing (``eoxr_meta``: bands by name, mean, std), so that
    :func:`eoxr.ml.apply_model` prepares the input exactly as in training.
    """
    import torch

    from ..ml.batches import torch_dataset

    bands = [str(b) for b in cube.band.values]
    mean = cube.mean(("y", "x")).values.tolist()
    std = cube.std(("y", "x")).values.tolist()
    ds = torch_dataset(
        cube,
        labels.astype("float32"),
        input_dims=PATCH,
        input_overlap=OVERLAP,
        bands=bands,
        mean=mean,
        std=std,
    )
    torch.manual_seed(seed)
    k = len(labels.attrs["classes"])
    net = torch.nn.Sequential(
        torch.nn.Conv2d(cube.sizes["band"], 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, k, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        ds, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(net(xb), yb).backward()
            opt.step()
    net.eval()
    net.eoxr_meta = {"bands": bands, "mean": mean, "std": std}
    return net, (mean, std)


def run(out: pathlib.Path) -> list[str]:
    """Classify the built-in synthetic Sentinel-2 scene with a tiny CNN and a random forest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.ensemble import RandomForestClassifier

    out = pathlib.Path(out) / "ml"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cube, truth = scene()
    net, _ = train_cnn(cube, truth)
    lazy = cube.chunk({"y": 48, "x": 48})
    # input_overlap left out: seam-free default from the net's measured receptive radius
    cnn = lazy.eo.apply_model(net, input_dims=PATCH, output_coords=truth.attrs["classes"])
    cnn_map = cnn.argmax("class").compute()
    # random forest from 5 % of the pixels (a sparse "field survey")
    rng = np.random.default_rng(0)
    sparse = truth.astype("float32").where(rng.random(truth.shape) < 0.05)
    rf = cube.eo.fit(RandomForestClassifier(50, random_state=0, n_jobs=1), sparse)
    rf_map = lazy.eo.apply_model(rf).compute()
    acc_cnn = float((cnn_map.values == truth.values).mean())
    acc_rf = float((rf_map.values == truth.values).mean())
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, (title, arr) in zip(
        axes,
        [
            ("truth", truth),
            (f"CNN {acc_cnn:.0%}", cnn_map),
            (f"random forest {acc_rf:.0%}", rf_map),
        ],
    ):
        ax.imshow(np.asarray(arr), cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.savefig(out / "classification.png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    cnn.to_dataset(name="probability").drop_vars("class").to_zarr(
        out / "cnn_scores.zarr", mode="w", zarr_format=2
    )
    return [
        f"ml: tiny CNN (torch_dataset + apply_model, 32 px patches, cosine blend, default overlap) "
        f"accuracy {acc_cnn:.1%} on {truth.size} px",
        f"ml: random forest (cube.eo.fit from 5 % of pixels) accuracy {acc_rf:.1%}",
        f"ml: {out / 'classification.png'} ({time.perf_counter() - t0:.1f} s)",
    ]
