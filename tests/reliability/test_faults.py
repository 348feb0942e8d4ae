"""Faults injected into a real gunicorn (2-3 workers, Connection: close): nothing accepted is lost,
nothing corrupt is served, and the service stays up.

Each test owns its gunicorn (faults damage state) and kills its process group afterwards.
Waits are polls with timeouts; no test asserts how long anything took.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import pathlib
import shutil
import signal
import subprocess
import threading

import pytest
from reliability_harness import API, CHEAP, Gunicorn, needs, wait_for

pytestmark = pytest.mark.slow

#: The worst request: seconds of rendering, long enough to be killed in the middle.
LONG = {"params": {"n": 2000, "k": 777, "omega": 2.5, "xi": 1.8}, "duration_seconds": 300, "format": "mp3"}
#: About a second or two of rendering: blocks a one-slot pool, or is in flight during a reload.
BLOCKER = {"params": {"n": 2000, "k": 777, "omega": 2.5, "xi": 1.8}, "duration_seconds": 300, "format": "wav"}
#: A few seconds of WAV (hundreds of KiB): big enough to fill a small disk.
WAV = {"params": {"n": 24, "k": 7}, "duration_seconds": 4, "format": "wav"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(server: Gunicorn, job_id: str):
    return server.request("GET", f"{API}/jobs/{job_id}/download")


def finished_bytes(server: Gunicorn, body: dict) -> tuple[str, bytes]:
    """Submit, wait for completion, download: (job id, bytes)."""
    job_id = server.submit(body)["job_id"]
    job = server.wait_job(job_id)
    assert job["status"] == "complete", job
    reply = download(server, job_id)
    assert reply.status == 200
    return job_id, reply.body


class Poller(threading.Thread):
    """Polls a job on fresh connections until told to stop; records every status code seen."""

    def __init__(self, server: Gunicorn, job_ids: list[str]):
        super().__init__(daemon=True)
        self.server, self.job_ids = server, job_ids
        self.codes: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for job_id in self.job_ids:
                # a connection refused mid-restart, or cut by a SIGKILL mid-response, is not an answer
                with contextlib.suppress(OSError, http.client.HTTPException):
                    self.codes.append(self.server.request("GET", f"{API}/jobs/{job_id}", timeout=30).status)

    def finish(self) -> list[int]:
        self.stop.set()
        self.join(timeout=60)
        return self.codes


def claim_owner(server: Gunicorn, job_id: str) -> int | None:
    try:
        return int(json.loads((server.cache_dir / "claims" / f"{job_id}.json").read_text())["owner"].split(":")[1])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def test_sigkill_of_every_worker_mid_render(start_gunicorn):
    server = start_gunicorn(workers=2)
    job_id = server.submit(LONG)["job_id"]
    poller = Poller(server, [job_id])
    poller.start()
    owner = wait_for(lambda: claim_owner(server, job_id), timeout=30, interval=0.01, what="a claim")
    before = server.worker_pids()
    assert owner in before
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    killed_mid_render = not (server.cache_dir / "objects" / f"{job_id}.meta.json").exists()
    wait_for(lambda: len(set(server.worker_pids()) - set(before)) == 2, timeout=60, what="new workers")
    job = server.wait_job(job_id, timeout=240)
    codes = poller.finish()
    assert job["status"] == "complete", job
    assert killed_mid_render, "the render finished before the kill; the test proved nothing"
    assert codes and set(codes) == {200}, sorted(set(codes))  # never a 404, never a 5xx
    reply = download(server, job_id)
    meta = json.loads((server.cache_dir / "objects" / f"{job_id}.meta.json").read_text())
    assert reply.status == 200 and sha(reply.body) == meta["sha256"] and len(reply.body) == meta["size"]
    assert reply.body[:3] in (b"ID3", b"\xff\xfb") or reply.body[0] == 0xFF


def test_sighup_reload_with_jobs_in_flight(start_gunicorn):
    server = start_gunicorn(workers=2)
    bodies = [{**BLOCKER, "params": {**BLOCKER["params"], "omega": 2.5 + i}} for i in range(2)]
    job_ids = [server.submit(body)["job_id"] for body in bodies]
    poller = Poller(server, job_ids)
    poller.start()
    old = server.worker_pids()
    wait_for(lambda: any(claim_owner(server, j) for j in job_ids), timeout=30, interval=0.01, what="a claim")
    server.signal_master(signal.SIGHUP)
    wait_for(lambda: len(set(server.worker_pids()) - set(old)) >= 2, timeout=60, what="new workers")
    jobs = [server.wait_job(job_id, timeout=300) for job_id in job_ids]
    codes = poller.finish()
    assert [job["status"] for job in jobs] == ["complete"] * len(jobs), jobs
    assert codes and set(codes) == {200}, sorted(set(codes))
    assert all(download(server, job_id).status == 200 for job_id in job_ids)


def damage_file(server: Gunicorn, job_id: str, good: bytes, damage: str) -> None:
    path = server.cache_dir / "objects" / f"{job_id}.wav"
    if damage == "truncate":
        with open(path, "r+b") as fh:
            fh.truncate(len(good) // 2)
    elif damage == "alter":  # same size, one byte flipped in the audio
        with open(path, "r+b") as fh:
            fh.seek(len(good) - 100)
            byte = fh.read(1)
            fh.seek(len(good) - 100)
            fh.write(bytes([byte[0] ^ 0xFF]))
    else:  # the checksum sidecar is gone
        (server.cache_dir / "objects" / f"{job_id}.meta.json").unlink()


def test_damaged_finished_files_are_never_served(start_gunicorn):
    server = start_gunicorn(workers=2)
    for i, damage in enumerate(["truncate", "alter", "delete-sidecar"]):
        job_id, good = finished_bytes(server, {**WAV, "tempo": 100 + i})
        for _ in range(4):
            assert download(server, job_id).status == 200  # both workers have verified it once
        damage_file(server, job_id, good, damage)
        for _ in range(6):  # every worker, several times: the good bytes or a 409, nothing else
            reply = download(server, job_id)
            assert reply.status in (200, 409), (damage, reply.status)
            if reply.status == 200:
                assert sha(reply.body) == sha(good), f"{damage}: served a corrupt file"
        job = server.wait_job(job_id)
        assert job["status"] == "complete", job
        reply = download(server, job_id)
        assert reply.status == 200 and sha(reply.body) == sha(good), damage


def test_cache_directory_wiped_while_running(start_gunicorn):
    server = start_gunicorn(workers=2)
    job_id, good = finished_bytes(server, WAV)
    shutil.rmtree(server.cache_dir)
    assert server.request("GET", f"{API}/healthz").status == 200
    assert server.request("GET", f"{API}/jobs/{job_id}").status == 404  # its record is gone
    again, data = finished_bytes(server, WAV)  # the same request renders again...
    assert again == job_id and sha(data) == sha(good)  # ...to the same id and the same bytes
    assert finished_bytes(server, CHEAP)[1][:4] == b"MThd"
    assert server.request("GET", "/metrics").status == 200


# -- a full disk and a read-only cache (root: tmpfs mounts) -----------------------------------
def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs as the cache directory (root only; see `needs`)."""
    target = tmp_path / "disk"
    target.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        needs("root and mount(8), to mount a tmpfs")
    try:
        mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target))
    except subprocess.CalledProcessError as exc:
        needs(f"permission to mount a tmpfs: {exc.stderr.decode(errors='replace').strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


def no_partial_files(cache: pathlib.Path) -> list[str]:
    """Finished-looking files without a verifying sidecar, and temp files left behind."""
    objects = cache / "objects"
    if not objects.is_dir():
        return []
    names = {p.name for p in objects.iterdir()}
    return sorted(n for n in names if n.startswith(".tmp-")
                  or (not n.endswith(".meta.json") and f"{n.split('.')[0]}.meta.json" not in names))


def test_disk_full_fails_the_job_clearly_and_recovers(start_gunicorn, small_disk):
    server = start_gunicorn(workers=2, env={"RESONANT_CACHE_DIR": str(small_disk)})
    server.cache_dir = small_disk
    big = {**WAV, "duration_seconds": 30}  # ~5 MiB of WAV on a 1 MiB disk
    job_id = server.submit(big)["job_id"]
    job = server.wait_job(job_id)
    assert job["status"] == "failed", job
    assert "space" in job["error"].lower(), job["error"]
    assert server.request("GET", f"{API}/healthz").status == 200
    reply = download(server, job_id)
    assert reply.status == 409 and reply.json["status"] == "failed"
    assert no_partial_files(small_disk) == []
    assert finished_bytes(server, CHEAP)[1][:4] == b"MThd"  # small jobs still fit
    mount("-o", "remount,size=64m", str(small_disk))  # space returns
    reply = server.request("POST", f"{API}/generate", body=big)
    assert reply.status == 202 and reply.json["job_id"] == job_id
    assert server.wait_job(job_id)["status"] == "complete"
    assert download(server, job_id).status == 200


def test_read_only_cache_refuses_clearly_serves_what_it_has_and_recovers(start_gunicorn, small_disk):
    mount("-o", "remount,size=64m", str(small_disk))
    server = start_gunicorn(workers=2, env={"RESONANT_CACHE_DIR": str(small_disk)})
    server.cache_dir = small_disk
    done_id, good = finished_bytes(server, CHEAP)
    mount("-o", "remount,ro", str(small_disk))
    reply = server.request("POST", f"{API}/generate", body=WAV)
    assert reply.status in (202, 503), (reply.status, reply.body)
    if reply.status == 503:  # the spec cannot even be recorded: refused, with a reason
        assert "read-only" in reply.json["detail"].lower() and reply.header("Retry-After").isdigit()
    else:
        job = server.wait_job(reply.json["job_id"])
        assert job["status"] == "failed" and "read-only" in job["error"].lower(), job
    assert server.request("GET", f"{API}/healthz").status == 200
    served = download(server, done_id)  # finished files are still served, verified
    assert served.status == 200 and sha(served.body) == sha(good)
    assert server.request("GET", f"{API}/presets").status == 200
    mount("-o", "remount,rw", str(small_disk))
    again = server.request("POST", f"{API}/generate", body=WAV)
    assert again.status in (200, 202), again.body
    assert server.wait_job(again.json["job_id"])["status"] == "complete"


def test_pool_full_is_503_with_retry_after_and_loses_nothing(start_gunicorn):
    server = start_gunicorn(workers=1, env={"RESONANT_POOL_SIZE": "1", "RESONANT_QUEUE_LIMIT": "1"})
    long_id = server.submit(BLOCKER)["job_id"]
    refused = [server.request("POST", f"{API}/generate", body={**CHEAP, "tempo": 60 + i}) for i in range(5)]
    preview = server.request("POST", f"{API}/preview", body={"prompt": "calm piano", "format": "midi"})
    for reply in [*refused, preview]:
        assert reply.status == 503, reply.status
        assert reply.header("Retry-After").isdigit() and reply.json["detail"]
    assert server.request("GET", f"{API}/healthz").status == 200
    assert server.wait_job(long_id, timeout=240)["status"] == "complete"
    for i in range(5):  # retried later, each is accepted and completes
        job = server.submit({**CHEAP, "tempo": 60 + i})
        assert server.wait_job(job["job_id"])["status"] == "complete"
