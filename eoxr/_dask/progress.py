"""Progress bars where someone can see them, and the active ``distributed`` client.

:func:`want_progress` resolves eoxr's ``progress=`` option (interactive sessions only, unless
``EOXR_PROGRESS=0``; ``True``/``False`` force it); :func:`progress_bar` and
:func:`progress_context` show dask's local bar or distributed's, whichever runs the graph.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import dask


def _interactive() -> bool:
    """True in a Jupyter kernel or when stdout is a terminal (where a progress bar is seen)."""
    import sys

    if _in_kernel():
        return True
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _in_kernel() -> bool:
    """True when this process runs a Jupyter kernel (not merely one that imported ipykernel)."""
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_or_no_kernel() -> bool:
    """False in a notebook kernel without ipywidgets, where distributed's progress bar fails."""
    import importlib.util

    return not _in_kernel() or importlib.util.find_spec("ipywidgets") is not None


def want_progress(progress: bool | None = None) -> bool:
    """Resolve eoxr's ``progress=`` option.

    ``None`` (the default everywhere in eoxr) shows progress only when the session is interactive
    (a terminal or a notebook) and the environment variable ``EOXR_PROGRESS`` is not ``0``;
    ``True`` forces it and ``False`` silences it.
    """
    import os

    if progress is None:
        return _interactive() and os.environ.get("EOXR_PROGRESS", "1") != "0"
    return bool(progress)


def active_client() -> Any:
    """The active ``distributed.Client``, or ``None`` (also when distributed is not installed)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def progress_bar(progress: bool | None = None) -> Any:
    """Context manager showing dask's local progress bar for computations run inside it.

    Silent unless :func:`want_progress` says otherwise. Computations that go through a
    ``distributed`` client report through :func:`eoxr._dask.stats.compute` instead.
    """
    if not want_progress(progress) or active_client() is not None:
        return contextlib.nullcontext()
    return _bar(minimum=1.0)


def client_progress_scheduler(client: Any) -> Callable[..., Any]:
    """A dask scheduler function: run graphs on ``client`` behind distributed's progress bar."""
    from distributed import progress as client_progress

    try:  # distributed draws a widget in a notebook, which needs ipywidgets; else a text bar
        import ipywidgets  # noqa: F401

        notebook = None
    except ImportError:
        notebook = False

    def get(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        futures = client.get(dsk, keys, sync=False, **kwargs)
        client_progress(futures, notebook=notebook)
        return client.gather(futures)

    return get


def progress_context(progress: bool | None = None) -> Any:
    """Context manager showing progress for EVERY dask computation run inside it.

    Distributed's bar when a client is active (graphs are sent through it as futures), else
    dask's local ``ProgressBar``; a null context unless :func:`want_progress` allows.
    """
    if not want_progress(progress):
        return contextlib.nullcontext()
    client = active_client()
    if client is None:
        return _bar()
    return dask.config.set(scheduler=client_progress_scheduler(client))


def _bar(minimum: float = 0.0) -> Any:
    """Dask's local bar, drawn once however many eoxr bars are nested, its line redrawn clean.

    A bar inside a block that already shows one is a null context (two bars registered at once
    draw over each other on one line). Each redraw is padded to the longest line drawn, so a
    shorter elapsed time (``9.99 s`` after ``999.99 ms``) leaves no stray characters. In a
    Jupyter kernel the bar is redrawn from the thread that computes (after each task, at most
    every 0.1 s), not from dask's timer thread: a thread's output reaches the cell only when the
    computation ends, so the bar would show up finished.
    """
    import threading
    import time

    from dask.diagnostics import ProgressBar

    kernel = _in_kernel()

    class Bar(ProgressBar):
        def _start(self, dsk: Any) -> None:
            if not kernel:
                return super()._start(dsk)
            self._state, self._start_time, self._last = None, time.perf_counter(), 0.0
            self._running = False
            self._timer = threading.Thread(target=lambda: None)  # joined by _finish
            self._timer.start()

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
            self._state = state
            now = time.perf_counter()
            if kernel and now - self._last >= self._dt and now - self._start_time > self._minimum:
                self._last = now
                self._update_bar(now - self._start_time)

        def __enter__(self) -> Any:
            self._outer = _Bar.active == 0
            _Bar.active += self._outer
            return super().__enter__() if self._outer else self

        def __exit__(self, *args: Any) -> None:
            if self._outer:
                _Bar.active -= 1
                super().__exit__(*args)

        def _draw_bar(self, frac: float, elapsed: float) -> None:
            from dask.utils import format_time

            bar = "#" * int(self._width * frac)
            line = f"[{bar:<{self._width}}] | {int(100 * frac)}% Completed | {format_time(elapsed)}"
            self._longest = max(getattr(self, "_longest", 0), len(line))
            with contextlib.suppress(ValueError):
                if self._file is not None:
                    self._file.write("\r" + line.ljust(self._longest))
                    self._file.flush()

    return Bar(minimum=minimum)


class _Bar:
    """Counts the outermost eoxr progress bars now shown (0 or 1)."""

    active = 0
