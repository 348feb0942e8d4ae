"""Against real gunicorn (3 gthread workers, Connection: close so requests hop between workers):
jobs never vanish across workers, and a SIGKILLed renderer's job still completes."""
from __future__ import annotations

import http.client
import io
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest
import soundfile

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUNICORN = pathlib.Path(sys.executable).with_name("gunicorn")
API = "/api/v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn process tree on a loopback port, spoken to one connection per request."""

    def __init__(self, cache_dir: pathlib.Path, log_path: pathlib.Path, workers: int = 3,
                 env: dict[str, str] | None = None):
        self.port = free_port()
        self.cache_dir = cache_dir
        env = {**os.environ, "RESONANT_CACHE_DIR": str(cache_dir), "RESONANT_POOL_SIZE": "2",
               "RESONANT_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers), **(env or {})}
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(GUNICORN), "--config", "app/gunicorn_conf.py", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", f"{API}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("gunicorn did not start: " + log_path.read_text()[-2000:])
            time.sleep(0.1)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Connection": "close"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        status, _, data = self.request(method, path, body)
        return status, json.loads(data)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "cache", tmp_path / "gunicorn.log")
    yield srv
    srv.stop()


def poll_until_complete(server: Server, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, job = server.json("GET", f"{API}/jobs/{job_id}")
        assert status == 200, (status, job)  # never 404, whichever worker answers
        if job["status"] in ("complete", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_submit_poll_download_across_workers_never_404(server):
    bodies = [{"params": {"n": 12 + i, "k": 5}, "duration_seconds": 2, "format": fmt}
              for i, fmt in enumerate(["wav", "mp3", "midi", "wav", "midi", "mp3"])]
    submitted = []
    for body in bodies:
        status, job = server.json("POST", f"{API}/generate", body)
        assert status == 202 and job["status"] in ("pending", "processing")
        submitted.append(job["job_id"])
        for _ in range(3):  # immediately, on other workers
            assert server.json("GET", f"{API}/jobs/{job['job_id']}")[0] == 200
    for job_id in submitted:
        job = poll_until_complete(server, job_id)
        assert job["status"] == "complete", job
        downloads = [server.request("GET", job["download_url"]) for _ in range(3)]
        assert {d[0] for d in downloads} == {200}
        assert len({d[2] for d in downloads}) == 1  # byte-identical from every worker
    again = server.json("POST", f"{API}/generate", bodies[0])
    assert again[0] == 200 and again[1]["job_id"] == submitted[0]
    renders = list((server.cache_dir / "objects").glob("*.meta.json"))
    assert len(renders) == len(bodies)


def test_job_survives_sigkill_of_its_renderer(server):
    body = {"params": {"n": 2000, "k": 777, "omega": 2.5, "xi": 1.8}, "duration_seconds": 300, "format": "wav"}
    status, job = server.json("POST", f"{API}/generate", body)
    assert status == 202
    claim = server.cache_dir / "claims" / f"{job['job_id']}.json"
    deadline = time.monotonic() + 30
    while not claim.exists():
        assert time.monotonic() < deadline, "no worker claimed the job"
        time.sleep(0.01)
    owner = json.loads(claim.read_text())["owner"]
    pid = int(owner.split(":")[1])
    assert pid != server.proc.pid
    os.kill(pid, signal.SIGKILL)
    killed_while_rendering = not (server.cache_dir / "objects" / f"{job['job_id']}.meta.json").exists()
    job = poll_until_complete(server, job["job_id"], timeout=240)
    assert job["status"] == "complete", job
    assert killed_while_rendering
    status, _, data = server.request("GET", job["download_url"])
    assert status == 200 and soundfile.info(io.BytesIO(data)).frames == 300 * 44100


@pytest.mark.parametrize(("size", "expected"), [(100 * 1024, 413), (10, 202)])
def test_chunked_bodies_are_capped_not_truncated(server, size, expected):
    body = json.dumps({"prompt": "calm piano " + "x" * size, "format": "midi", "duration_seconds": 1}).encode()
    if size < 1000:
        body = json.dumps({"prompt": "calm piano", "format": "midi", "duration_seconds": 1}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
        conn.request("POST", f"{API}/generate", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json", "Connection": "close"})
        response = conn.getresponse()
        assert response.status == expected
        assert "detail" in json.loads(response.read()) or expected == 202
    finally:
        conn.close()


def test_access_log_is_json_lines(server, tmp_path):
    server.request("GET", f"{API}/healthz")
    server.request("GET", f"{API}/nope?x=%22quoted%22")
    status, job = server.json("POST", f"{API}/generate", {"prompt": "calm piano", "format": "midi",
                                                          "duration_seconds": 2})
    assert status in (200, 202)
    assert poll_until_complete(server, job["job_id"])["status"] == "complete"
    status, _, data = server.request("GET", f"{API}/jobs/{job['job_id']}/download")
    assert status == 200 and data
    server.stop()
    lines = [line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert {r["path"] for r in records} >= {f"{API}/healthz", f"{API}/nope"}
    assert {"time", "method", "status", "duration_ms", "pid"} <= set(records[-1])
    (download,) = [r for r in records if r["path"].endswith("/download")]
    assert download["bytes"] == len(data)  # sent with sendfile(2), which gunicorn does not count
