"""Harness of the reliability tests (and their fixtures): real gunicorn, in-process apps.

Every gunicorn runs in its own session (process group) and is killed as a group in a finally,
so a failing test never leaves workers behind. Requests use `Connection: close`, so
consecutive requests land on different workers.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from app import create_app

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUNICORN = pathlib.Path(sys.executable).with_name("gunicorn")
API = "/api/v1"
#: A request that renders in milliseconds (MIDI, 1 s): fuzzing and faults stay cheap.
CHEAP = {"params": {"n": 12, "k": 5}, "duration_seconds": 1, "format": "midi"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class Gunicorn:
    """`gunicorn --config app/gunicorn_conf.py wsgi:app` on a free loopback port."""

    def __init__(self, workdir: pathlib.Path, *, workers: int = 2, env: dict[str, str] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.cache_dir = workdir / "cache"
        self.log_path = workdir / "gunicorn.log"
        self.env = {
            **os.environ,
            "RESONANT_BIND": f"127.0.0.1:{self.port}",
            "RESONANT_CACHE_DIR": str(self.cache_dir),
            "WEB_CONCURRENCY": str(workers),
            "RESONANT_POOL_SIZE": "2",
            "RESONANT_LOG_LEVEL": "warning",
            **(env or {}),
        }
        if "PROMETHEUS_MULTIPROC_DIR" not in (env or {}):
            self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each master makes its own
        self.workers = workers
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(GUNICORN), "--config", "app/gunicorn_conf.py", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_for(self._up, timeout=60, what="gunicorn to answer /healthz")
            wait_for(lambda: len(self.worker_pids()) == workers, timeout=30, what="all workers")
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("gunicorn exited: " + self.log_tail())
        with contextlib.suppress(OSError):
            return self.request("GET", f"{API}/healthz").status == 200
        return False

    def log_tail(self, chars: int = 3000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    # -- processes ----------------------------------------------------------------------
    def worker_pids(self) -> list[int]:
        """Live worker processes: the master's children (read from /proc)."""
        pids = []
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                pids.append(int(entry.name))
        return sorted(pids)

    def signal_master(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        """SIGTERM the whole process group, then SIGKILL whatever is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log.close()

    # -- HTTP ---------------------------------------------------------------------------
    def request(self, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60) -> Reply:
        """One request on a fresh connection (`Connection: close`)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = {"Connection": "close", **(headers or {})}
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
                sent.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def submit(self, body: dict) -> dict:
        reply = self.request("POST", f"{API}/generate", body=body)
        assert reply.status in (200, 202), (reply.status, reply.body)
        return reply.json

    def wait_job(self, job_id: str, *, timeout: float = 120,
                 statuses: tuple[str, ...] = ("complete", "failed")) -> dict:
        """Poll the job (a 404 on any poll fails the test) until its status is in `statuses`."""

        def done() -> dict | None:
            reply = self.request("GET", f"{API}/jobs/{job_id}")
            assert reply.status == 200, (reply.status, reply.body)
            job = reply.json
            return job if job["status"] in statuses else None

        return wait_for(done, timeout=timeout, what=f"job {job_id} to reach {statuses}")


@pytest.fixture
def start_gunicorn(tmp_path) -> Iterator[Callable[..., Gunicorn]]:
    """Start gunicorns for one test (`start_gunicorn(workers=2, env={...})`); all stopped after."""
    started: list[Gunicorn] = []

    def start(**kwargs: Any) -> Gunicorn:
        server = Gunicorn(tmp_path / f"g{len(started)}", **kwargs)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def shared_gunicorn(tmp_path_factory) -> Iterator[Gunicorn]:
    """One 2-worker gunicorn for a whole module (requests that leave it healthy)."""
    server = Gunicorn(tmp_path_factory.mktemp("gunicorn"), workers=2)
    try:
        yield server
    finally:
        server.stop()


def buffered(app: Any) -> Any:
    """WSGI wrapper that reads and closes every response, as a real server does.

    In-process clients (schemathesis's WSGI transport) leave streamed file responses open,
    which `filterwarnings = error` turns into ResourceWarning failures unrelated to the app.
    """

    def wsgi(environ: dict, start_response: Callable) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    return wsgi


class BufferedClient(FlaskClient):
    """Test client that reads and closes every response (as a WSGI server would)."""

    def open(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="module")
def module_app(tmp_path_factory):
    """One in-process app for a module, on its own cache (pool of 2, queue of 64).

    Renders still queued when the module ends are waited for, so the cache can be removed.
    """
    cache = tmp_path_factory.mktemp("cache")
    app = create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(cache),
                      "RESONANT_POOL_SIZE": 2, "RESONANT_QUEUE_LIMIT": 64})
    app.test_client_class = BufferedClient
    yield app
    app.extensions["resonant"].shutdown()


def needs(reason: str) -> None:
    """A prerequisite of this test is missing: skip on a developer's machine, fail in CI.

    `make test` installs and provides everything these tests need (root, mount, redis-server),
    so under CI (CI=true) a missing prerequisite is a broken set-up, never a silent skip.
    """
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"missing prerequisite in CI: {reason}")
    pytest.skip(reason)


class RedisServer:
    """`redis-server` on a free loopback port, no persistence; stopped (SIGCONT first) in stop()."""

    def __init__(self, workdir: pathlib.Path):
        binary = shutil.which("redis-server")
        if binary is None:
            needs("redis-server (apt-get install redis-server)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.binary = str(binary)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = workdir / "redis.log"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no",
                 "--bind", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.ping, timeout=10, what="redis-server to answer")

    def ping(self) -> bool:
        try:
            return self.command("PING") == "+PONG"
        except OSError:
            return False

    def command(self, *args: str) -> str:
        """One command over a fresh connection (RESP): a status/integer line ("+OK", ":1"), or
        a bulk string's value ("" for nil)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
            sock.sendall(payload.encode())
            reply = sock.makefile("rb")
            line = reply.readline().decode().rstrip("\r\n")
            if line.startswith("$"):
                return "" if line == "$-1" else reply.readline().decode().rstrip("\r\n")
            return line

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL (all data is lost: no persistence)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """One redis-server for a module (skipped without redis-server, failed under CI=true)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()
