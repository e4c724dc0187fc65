"""JupyterLab and Chromium for the browser tests: one server and one browser per session."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import require, require_program

ROOT = Path(__file__).resolve().parents[2]

# The reader's JupyterLab defaults, shared with Binder (binder/postBuild installs the same file):
# every cell rendered (not only those in view, so that off-screen plots get a canvas), and no
# news or update checks that need internet.
OVERRIDES = ROOT / "binder" / "overrides.json"


# Run in the page: the notebook panel's cells as plain data (type, execution count, outputs).
CELLS_JS = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell ? app.shell.currentWidget : null;
  if (!panel || !panel.content) return [];
  return panel.content.widgets.map(c => ({
    type: c.model.type,
    count: c.model.type === 'code' ? c.model.executionCount : null,
    outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : [],
  }));
}"""
KERNEL_JS = """() => {
  // JupyterLab defines window.jupyterapp only once it has started: 'none' until then
  const app = window.jupyterapp;
  const panel = app && app.shell ? app.shell.currentWidget : null;
  const ctx = panel && panel.sessionContext;
  return ctx && ctx.session && ctx.session.kernel ? ctx.session.kernel.status : 'none';
}"""


def _chromium() -> str:
    return require_program(
        "chromium", "chromium-browser", "google-chrome", how="apt-get install chromium"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab on loopback serving a copy of the tutorials (the originals stay clean).

    One server for the whole session: ``(url, token, folder it serves)``.
    """
    _chromium()
    require("playwright.sync_api", extra="test")
    require("jupyterlab", extra="viz")
    tmp = tmp_path_factory.mktemp("lab")
    work = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    settings = tmp / "settings"
    for plugin, value in json.loads(OVERRIDES.read_text()).items():
        package, _, name = plugin.partition(
            ":"
        )  # user settings: <package>/<plugin>.jupyterlab-settings
        path = settings / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    token, port = uuid.uuid4().hex, _free_port()
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        # the kernel imports this checkout's eoxr, and shows no progress bars
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        EOXR_PROGRESS="0",
    )
    # Started directly (not through the `jupyter` wrapper), so that terminating this PID
    # stops the server.
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            f"--ServerApp.root_dir={work}", "--LabApp.news_url=None",
            "--LabApp.expose_app_in_browser=True",
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "lab.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "JupyterLab did not start:\n" + (tmp / "lab.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.5)
        yield url, token, work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()
