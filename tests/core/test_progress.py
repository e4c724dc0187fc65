"""Feedback on long computations: progress bars when interactive, silence otherwise (issue 10)."""

import time

import dask
import dask.array as dsa
import numpy as np
import pytest

from eoxr._dask import progress, stats
from tests.conftest import require

BAR = "% Completed"


def _slow(block):
    time.sleep(0.3)
    return block


def _slow_sum():
    # 4 blocks x 0.3 s one after the other: longer than the bar's 1 s minimum
    return dsa.ones((4, 3), chunks=(1, 3)).map_blocks(_slow).sum()


@pytest.fixture
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def test_silent_when_stdout_is_not_a_terminal(capsys, synchronous, monkeypatch):
    monkeypatch.delenv("EOXR_PROGRESS", raising=False)
    assert not progress.want_progress()  # pytest captures stdout: not a terminal
    (total,) = stats.compute(_slow_sum())
    assert float(total) == 12.0
    assert BAR not in capsys.readouterr().out


def test_progress_true_prints_a_bar(capsys, synchronous):
    (total,) = stats.compute(_slow_sum(), progress=True)
    assert float(total) == 12.0
    out = capsys.readouterr().out
    assert "100% Completed" in out and "[####" in out


def test_progress_bar_context_shows_for_interactive_sessions(capsys, synchronous, monkeypatch):
    monkeypatch.setattr(progress, "_interactive", lambda: True)
    monkeypatch.delenv("EOXR_PROGRESS", raising=False)
    assert progress.want_progress()
    with progress.progress_bar():
        _slow_sum().compute()
    assert "100% Completed" in capsys.readouterr().out


def test_environment_variable_silences(capsys, synchronous, monkeypatch):
    monkeypatch.setattr(progress, "_interactive", lambda: True)
    monkeypatch.setenv("EOXR_PROGRESS", "0")
    assert not progress.want_progress()
    with progress.progress_bar():
        _slow_sum().compute()
    stats.compute(_slow_sum())
    assert BAR not in capsys.readouterr().out
    assert progress.want_progress(True)  # an explicit request still wins


def test_numpy_passes_through_without_computing():
    a = np.arange(3.0)
    (same,) = stats.compute(a, progress=True)
    assert same is a


def test_works_with_a_distributed_client(capsys):
    distributed = require("distributed", extra="distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster),
    ):
        assert progress.active_client() is not None
        assert isinstance(progress.progress_bar(True), type(progress.progress_bar(False)))
        (total,) = stats.compute(_slow_sum(), progress=True)
        assert float(total) == 12.0
        assert "100% Completed" in capsys.readouterr().out
        (quiet,) = stats.compute(_slow_sum())
        assert float(quiet) == 12.0
        assert BAR not in capsys.readouterr().out
    assert progress.active_client() is None
