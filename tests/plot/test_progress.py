"""eoxr.progress: bars where a person can see them, silent elsewhere, switchable."""

import os

import dask.array as da

import eoxr
from eoxr.progress import track
from eoxr.testing import make_cube
from tests.conftest import require


def _work():
    return da.ones((400, 400), chunks=50).sum()


def test_forced_progress_shows_dask_bar(capsys):
    with eoxr.progress(True):
        assert float(_work()) == 160_000
    assert "100% Completed" in capsys.readouterr().out


def test_quiet_when_not_interactive_or_switched_off(capsys, monkeypatch):
    with eoxr.progress():  # pytest captures stdout: not a terminal
        float(_work())
    monkeypatch.setenv("EOXR_PROGRESS", "0")
    with eoxr.progress():
        float(_work())
    with eoxr.progress(False):
        float(_work())
    assert capsys.readouterr().out == ""
    assert os.environ["EOXR_PROGRESS"] == "0"  # restored after the block


def test_env_restored_and_inner_bars_silenced(monkeypatch):
    monkeypatch.delenv("EOXR_PROGRESS", raising=False)
    with eoxr.progress(True):
        assert os.environ["EOXR_PROGRESS"] == "0"  # eoxr's own computes: no second bar
    assert "EOXR_PROGRESS" not in os.environ


def test_distributed_client_bar(capsys):
    distributed = require("distributed", extra="distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster),
        eoxr.progress(True),
    ):
        assert float(_work()) == 160_000  # computed through the client's futures
    assert "Completed" in capsys.readouterr().out


def test_track_patch_loop(capsys):
    assert list(track(range(3), progress=False)) == [0, 1, 2]
    assert sum(track(range(5), desc="patches", progress=True)) == 10
    assert "patches: 5/5 [100%]" in capsys.readouterr().err


def test_writers_progress_option(tmp_path, capsys):
    cube = make_cube(times=None).chunk({"x": 8})
    cube.eo.to_zarr(tmp_path / "a.zarr", progress=True)
    assert "100% Completed" in capsys.readouterr().out
    cube.eo.to_cog(tmp_path / "a.tif")  # default: quiet under pytest
    assert capsys.readouterr().out == ""


def test_resumable_zarr_write_progress_option(tmp_path, capsys):
    cube = make_cube(times=None).chunk({"x": 8})
    cube.eo.to_zarr(tmp_path / "r.zarr", resume=True, progress=False)
    assert capsys.readouterr().out == ""
    import xarray as xr

    cube.eo.to_zarr(tmp_path / "s.zarr", resume=True, progress=True)  # bar only past 1 s
    assert float(abs(xr.open_zarr(tmp_path / "s.zarr")["reflectance"] - cube).max()) == 0.0
