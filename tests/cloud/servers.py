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


# --- A range-capable HTTP server that counts the bytes it serves ------------------------------
#
# Run as a subprocess (``python servers.py http ROOT PORT [options]``), for the same reason as
# moto_server. Besides the files under ROOT it answers:
#   /__stats   JSON: {"bytes": {path: body bytes served}, "requests": {path: n}, "token_pids": [..]}
#   /__reset   zero the counters
#   /__token   a new token, valid for --token-ttl seconds (``?pid=`` records who asked)
#   /__expire  expire every token issued so far (they are refused from then on)
# With --fail-every N, every Nth file request is answered 503; with --tokens, file requests
# need ``?token=`` of an unexpired token (403 otherwise).


def _http_main(argv: list[str]) -> None:  # pragma: no cover - runs in the subprocess
    import argparse
    import json
    import re
    import secrets
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path
    from urllib.parse import parse_qs, unquote, urlsplit

    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("port", type=int)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--tokens", action="store_true")
    parser.add_argument("--token-ttl", type=float, default=float("inf"))
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    lock = threading.Lock()
    state = {"bytes": {}, "requests": {}, "n": 0, "tokens": {}, "token_pids": []}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet
            pass

        def _send(self, code, body=b"", headers=(), path=None, head=False):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
                if path is not None:
                    with lock:
                        state["bytes"][path] = state["bytes"].get(path, 0) + len(body)

        def _control(self, path, query):
            if path == "/__stats":
                with lock:
                    out = {k: state[k] for k in ("bytes", "requests", "token_pids")}
                return self._send(200, json.dumps(out).encode())
            if path == "/__reset":
                with lock:
                    state["bytes"].clear()
                    state["requests"].clear()
                return self._send(200, b"{}")
            if path == "/__expire":
                with lock:
                    state["tokens"] = dict.fromkeys(state["tokens"], float("-inf"))
                return self._send(200, b"{}")
            if path == "/__token":
                token = secrets.token_hex(8)
                with lock:
                    state["tokens"][token] = time.monotonic() + args.token_ttl
                    state["token_pids"].extend(int(p) for p in query.get("pid", []))
                return self._send(200, token.encode())
            return self._send(404)

        def _serve(self, head):
            url = urlsplit(self.path)
            path, query = unquote(url.path), parse_qs(url.query)
            if path.startswith("/__"):
                return self._control(path, query)
            with lock:
                state["n"] += 1
                state["requests"][path] = state["requests"].get(path, 0) + 1
                fail = args.fail_every and state["n"] % args.fail_every == 0
                expiry = state["tokens"].get((query.get("token") or [""])[0])
            if fail:
                return self._send(503, b"try again", head=head)
            if args.tokens and (expiry is None or time.monotonic() > expiry):
                return self._send(403, b"token missing or expired", head=head)
            file = (root / path.lstrip("/")).resolve()
            if root not in file.parents or not file.is_file():
                return self._send(404, b"not found", head=head)
            data = file.read_bytes()
            size = len(data)
            ranges = self._ranges(self.headers.get("Range"), size)
            if ranges is None:
                return self._send(200, data, [("Accept-Ranges", "bytes")], path, head)
            if not ranges:
                return self._send(416, headers=[("Content-Range", f"bytes */{size}")], head=head)
            if len(ranges) == 1:
                a, b = ranges[0]
                hdr = [("Accept-Ranges", "bytes"), ("Content-Range", f"bytes {a}-{b}/{size}")]
                return self._send(206, data[a : b + 1], hdr, path, head)
            boundary = secrets.token_hex(8)
            parts = []
            for a, b in ranges:
                parts.append(
                    f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Range: bytes {a}-{b}/{size}\r\n\r\n".encode()
                    + data[a : b + 1]
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            ctype = f"multipart/byteranges; boundary={boundary}"
            return self._send(206, body, [("Content-Type", ctype)], path, head)

        @staticmethod
        def _ranges(header, size):
            """[(first, last), ...] of a ``Range: bytes=`` header; None: no header."""
            if not header:
                return None
            out = []
            for spec in header.split("=", 1)[1].split(","):
                m = re.fullmatch(r"\s*(\d*)-(\d*)\s*", spec)
                if not m or m.group(1) == m.group(2) == "":
                    return []
                if m.group(1) == "":  # suffix: the last N bytes
                    a, b = max(size - int(m.group(2)), 0), size - 1
                else:
                    a = int(m.group(1))
                    b = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                if a >= size or b < a:
                    return []
                out.append((a, b))
            return out

        def do_GET(self):
            self._serve(head=False)

        def do_HEAD(self):
            self._serve(head=True)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


@dataclass
class HTTPServer:
    """A running range-capable HTTP server: its base URL and its counters."""

    url: str

    def href(self, name: str) -> str:
        """The URL of a file under the served folder."""
        return f"{self.url}/{name}"

    def stats(self) -> dict:
        """Body bytes and requests served per path, and the pids that asked for tokens."""
        import json

        with urllib.request.urlopen(self.url + "/__stats", timeout=10) as r:
            return json.loads(r.read())

    def bytes_served(self, name: str) -> int:
        """Body bytes served for one file since the last ``reset``."""
        return self.stats()["bytes"].get("/" + name, 0)

    def reset(self) -> None:
        """Zero the byte and request counters."""
        urllib.request.urlopen(self.url + "/__reset", timeout=10).read()

    def expire_tokens(self) -> None:
        """Expire every token issued so far: requests with them are refused (403)."""
        urllib.request.urlopen(self.url + "/__expire", timeout=10).read()

    def token(self) -> str:
        """A fresh token (servers started with ``tokens=True``), recording the asking process."""
        with urllib.request.urlopen(f"{self.url}/__token?pid={os.getpid()}", timeout=10) as r:
            return r.read().decode()


@dataclass
class TokenSigner:
    """A ``sign=`` callable: appends a fresh token of ``server`` to the URL it is given."""

    server: HTTPServer

    def __call__(self, href: str) -> str:
        return f"{href}?token={self.server.token()}"


@contextmanager
def http_server(
    root, *, fail_every: int = 0, tokens: bool = False, token_ttl: float | None = None
) -> Iterator[HTTPServer]:
    """Serve the folder ``root`` over HTTP on a free loopback port, from a subprocess.

    ``fail_every``: answer every Nth file request with 503. ``tokens``: refuse file requests
    without an unexpired ``?token=`` (see ``HTTPServer.token`` / ``expire_tokens``), tokens
    living ``token_ttl`` seconds (default: until ``expire_tokens``).
    """
    port = free_port()
    cmd = [sys.executable, os.path.abspath(__file__), "http", str(root), str(port)]
    if fail_every:
        cmd += ["--fail-every", str(fail_every)]
    if tokens:
        cmd += ["--tokens"]
    if token_ttl is not None:
        cmd += ["--token-ttl", str(token_ttl)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/__stats", proc)
        yield HTTPServer(url=url)
    finally:
        proc.kill()
        proc.wait(timeout=10)


if __name__ == "__main__" and sys.argv[1:2] == ["http"]:
    _http_main(sys.argv[2:])
