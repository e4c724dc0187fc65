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


def _screen(text):
    """What a terminal or JupyterLab shows: each ``\\r`` overwrites the line from its start."""
    lines = []
    for raw in text.split("\n"):
        line = ""
        for part in raw.split("\r"):
            line = part + line[len(part) :]
        lines.append(line)
    return [line for line in lines if line]


def test_finished_line_has_no_stray_characters(capsys):
    from eoxr._dask import progress as dask_progress

    bar = dask_progress._bar()
    bar._file = __import__("sys").stdout
    for elapsed in (0.5, 999.994e-3, 1.0, 9.99, 10.48, 59.0):  # ms -> s: a shorter text
        bar._draw_bar(0.5, elapsed)
    bar._draw_bar(1.0, 9.99)
    shown = _screen(capsys.readouterr().out)
    assert len(shown) == 1
    assert shown[0].rstrip().endswith("100% Completed | 9.99 s")  # not "9.99 sms" / "9.99 ss"


def test_one_bar_per_block_even_with_inner_bars(capsys):
    import time

    from eoxr._dask import progress as dask_progress

    def slow(block):
        time.sleep(0.02)
        return block

    work = da.ones((200, 200), chunks=50).map_blocks(slow).sum()
    with (
        eoxr.progress(True),
        dask_progress.progress_context(True),
        dask_progress.progress_bar(True),
    ):
        assert float(work) == 40_000  # three bars asked for, nested
    shown = _screen(capsys.readouterr().out)
    assert len(shown) == 1 and shown[0].count("Completed") == 1
    assert "100% Completed" in shown[0]
    with eoxr.progress(True):  # and the next block draws its own bar again
        float(work)
    assert "100% Completed" in capsys.readouterr().out
