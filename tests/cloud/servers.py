"""Real object-store and HTTP servers on loopback, each started as a subprocess.

``moto_server`` runs in its own process, never in the test process: GDAL's curl calls can
hold the GIL and deadlock a server thread that lives beside them (issue 23).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Block until ``url`` answers (any HTTP status), or fail naming the server's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = _output(proc)
            raise RuntimeError(f"server exited with {proc.returncode} before answering:\n{out}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server at {url} did not answer within {timeout} s")


def _output(proc: subprocess.Popen) -> str:
    """What a server wrote (to its log file, or to a pipe that is read once it exited)."""
    log = getattr(proc, "log_file", None)
    if log is not None:
        log.flush()
        log.seek(0)
        return log.read().decode(errors="replace")
    return proc.stdout.read().decode(errors="replace") if proc.stdout else ""


@dataclass
class S3Server:
    """A running ``moto_server``: its endpoint and the environment a client needs."""

    endpoint: str
    env: dict[str, str] = field(default_factory=dict)

    def client(self):
        """A boto3 S3 client on this server (for setting up buckets and checking objects)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_REGION"],
        )


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Start ``moto_server`` on a free loopback port; stop it afterwards.

    ``env`` holds only the standard variables (``AWS_*``, ``AWS_ENDPOINT_URL``, and GDAL's
    ``AWS_VIRTUAL_HOSTING`` / ``AWS_HTTPS`` for a plain-http path-style endpoint): eoxr
    invents no configuration of its own.
    """
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "moto.server"]
    # Its request log goes to a file: a pipe nobody reads fills up (64 KiB) and blocks the
    # server in the middle of a request.
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed below)
    proc = subprocess.Popen(
        [*cmd, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    proc.log_file = log
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for(endpoint + "/moto-api/", proc)
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            # GDAL reads AWS_S3_ENDPOINT (host[:port]) and needs path-style, plain http.
            "AWS_S3_ENDPOINT": f"127.0.0.1:{port}",
            "AWS_VIRTUAL_HOSTING": "FALSE",
            "AWS_HTTPS": "NO",
        }
        yield S3Server(endpoint=endpoint, env=env)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()
