"""The durable job store: single-flight, verification, eviction, back-pressure, recovery."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time

import pytest

API = "/api/v1"
BODY = {"params": {"n": 18, "k": 5}, "duration_seconds": 1, "format": "wav"}
BODY_OMEGA = 1.5  #: the preview's omega in the lane test (the jobs it must not wait behind differ)


def cache(flask_app, *parts: str) -> str:
    return os.path.join(flask_app.config["RESONANT_CACHE_DIR"], *parts)


def test_twenty_identical_concurrent_submissions_render_once(flask_app, renders, helpers):
    renders.gate.clear()  # hold the render so every submission overlaps it
    barrier = threading.Barrier(20)
    results: list = []

    def post():
        client = flask_app.test_client()
        barrier.wait()
        response = client.post(f"{API}/generate", json=BODY)
        results.append((response.status_code, response.json["job_id"]))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    renders.gate.set()
    assert len(results) == 20 and {code for code, _ in results} == {202}
    (job_id,) = {job_id for _, job_id in results}
    assert helpers.ApiHelper(flask_app.test_client()).wait(job_id)["status"] == "complete"
    assert renders.count(job_id) == 1
    assert os.listdir(cache(flask_app, "jobs")) == [f"{job_id}.json"]


def test_spec_is_on_disk_before_the_render(flask_app, client, renders):
    renders.gate.clear()
    job_id = client.post(f"{API}/generate", json=BODY).json["job_id"]
    with open(cache(flask_app, "jobs", f"{job_id}.json")) as fh:
        spec = json.load(fh)
    assert spec["n"] == 18 and spec["format"] == "wav"
    renders.gate.set()


@pytest.mark.parametrize("damage", ["truncate", "flip", "append", "delete-sidecar"])
def test_corrupted_file_is_detected_and_rendered_again(flask_app, client, api, renders, damage):
    job = api.complete(BODY)
    good = client.get(job["download_url"]).data
    path = cache(flask_app, "objects", f"{job['job_id']}.wav")
    with open(path, "r+b") as fh:
        if damage == "truncate":
            fh.truncate(len(good) // 2)
        elif damage == "flip":
            fh.seek(len(good) // 2)
            fh.write(bytes([good[len(good) // 2] ^ 0xFF]))
        elif damage == "append":
            fh.seek(0, os.SEEK_END)
            fh.write(b"junk")
    if damage == "delete-sidecar":
        os.unlink(cache(flask_app, "objects", f"{job['job_id']}.meta.json"))
    assert client.get(f"{API}/jobs/{job['job_id']}").json["status"] == "complete"  # done stays
    response = client.get(job["download_url"])
    assert response.status_code == 200 and response.data == good  # never served corrupt: rendered again
    assert renders.count(job["job_id"]) == 2


def test_eviction_under_a_tiny_cap_re_renders_identical_bytes(make_app, renders, helpers):
    flask_app = make_app(RESONANT_CACHE_MAX_BYTES=1)  # room for the newest file only
    api, client = helpers.ApiHelper(flask_app.test_client()), flask_app.test_client()
    first = api.complete(BODY)
    first_bytes = client.get(first["download_url"]).data
    second = api.complete({**BODY, "format": "midi"})
    kept = [f"{second['job_id']}.meta.json", f"{second['job_id']}.mid"]
    # the runner evicts just after it records the job done: the status may be seen first
    deadline = time.monotonic() + 10.0
    while sorted(os.listdir(cache(flask_app, "objects"))) != kept and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(os.listdir(cache(flask_app, "objects"))) == kept
    evicted = client.get(f"{API}/jobs/{first['job_id']}").json
    assert evicted["status"] == "complete"  # the done record is kept; reading queues nothing
    assert renders.count(first["job_id"]) == 1
    assert client.get(first["download_url"]).data == first_bytes  # rendered again on demand
    assert renders.count(first["job_id"]) == 2


def test_download_of_an_evicted_job_re_renders_it_and_serves_it(flask_app, client, api, renders):
    job = api.complete(BODY)
    good = client.get(job["download_url"]).data
    for name in os.listdir(cache(flask_app, "objects")):
        os.unlink(cache(flask_app, "objects", name))
    response = client.get(job["download_url"])
    assert response.status_code == 200 and response.data == good
    assert renders.count(job["job_id"]) == 2


def test_a_render_differing_from_done_is_never_served(make_app, renders, helpers):
    from app.runner import engine_render

    def differs(spec, **kwargs):
        return engine_render(spec, **kwargs) + b"x"

    flask_app = make_app()
    api, client = helpers.ApiHelper(flask_app.test_client()), flask_app.test_client()
    job = api.complete(BODY)
    other = make_app(RESONANT_CACHE_DIR=flask_app.config["RESONANT_CACHE_DIR"], render=differs)
    for name in os.listdir(cache(flask_app, "objects")):
        os.unlink(cache(flask_app, "objects", name))
    response = other.test_client().get(job["download_url"])
    assert response.status_code == 503 and response.json["detail"] and "Retry-After" in response.headers
    assert not os.path.exists(cache(flask_app, "objects", f"{job['job_id']}.wav"))
    from app import metrics

    assert metrics.MISMATCHES._value.get() >= 1
    assert client.get(job["download_url"]).status_code == 200  # a host rendering right serves it


def test_reading_a_pending_job_never_queues_a_render(flask_app, client, renders, helpers):
    from app.service import job_service

    with flask_app.test_request_context():
        state = job_service.state
        state.recovery.stop()
        spec = job_service.resolve(BODY)
        state.job_store.save_spec(spec)  # accepted, but nobody queued it
    for _ in range(3):
        assert client.get(f"{API}/jobs/{spec.id}").json["status"] == "pending"
        assert client.get(f"{API}/jobs/{spec.id}/download").status_code == 409
    assert renders.count() == 0 and not state.runner.in_flight(spec.id)
    assert state.recovery.sweep() == 1  # recovery is what queues orphaned jobs
    assert helpers.ApiHelper(flask_app.test_client()).wait(spec.id)["status"] == "complete"


def test_pool_full_is_503_with_retry_after_and_loses_nothing(make_app, renders, helpers):
    flask_app = make_app(RESONANT_POOL_SIZE=1, RESONANT_QUEUE_LIMIT=2)
    client = flask_app.test_client()
    renders.gate.clear()
    accepted = [client.post(f"{API}/generate", json={**BODY, "tempo": 60 + i}) for i in range(2)]
    assert [r.status_code for r in accepted] == [202, 202]
    refused = client.post(f"{API}/generate", json={**BODY, "tempo": 99})
    assert refused.status_code == 503 and refused.json["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    preview = client.post(f"{API}/preview", json={"prompt": "calm"})
    assert preview.status_code == 503 and "Retry-After" in preview.headers
    # the refused job's spec is on disk: once there is room, recovery queues it and it completes
    from app.service import job_service

    with flask_app.test_request_context():
        job_id = job_service.resolve({**BODY, "tempo": 99}).id
    assert os.path.exists(cache(flask_app, "jobs", f"{job_id}.json"))
    assert client.get(f"{API}/jobs/{job_id}").json["status"] == "pending"
    renders.gate.set()
    assert helpers.ApiHelper(client).wait(job_id)["status"] == "complete"


def test_stale_claim_of_a_dead_worker_is_taken_over(flask_app, client, api, renders):
    renders.gate.clear()
    job_id = client.post(f"{API}/generate", json={**BODY, "tempo": 70}).json["job_id"]
    # pretend another process on another host claimed a second job, then died long ago
    other = client.post(f"{API}/generate", json={**BODY, "tempo": 71}).json["job_id"]
    renders.gate.set()
    api.wait(job_id)
    api.wait(other)
    claim = cache(flask_app, "claims", "a" * 32 + ".json")
    os.makedirs(os.path.dirname(claim), exist_ok=True)
    from app.service import job_service

    with flask_app.app_context():
        store = job_service.state.job_store
        spec = store.load_spec(other).with_(tempo=72)
        claim = cache(flask_app, "claims", f"{spec.id}.json")
        os.makedirs(os.path.dirname(claim), exist_ok=True)
        with open(claim, "w") as fh:
            json.dump({"owner": "elsewhere:1:1"}, fh)
        store.save_spec(spec)
        assert store.lease_live(spec.id)  # fresh heartbeat: someone renders it
        os.utime(claim, (0, 0))  # heartbeat stopped long ago
        assert not store.lease_live(spec.id)
    assert client.get(f"{API}/jobs/{spec.id}").json["status"] in ("pending", "processing")
    assert api.wait(spec.id)["status"] == "complete"


def test_claim_of_a_dead_local_process_is_not_live(flask_app):
    from app.claims import HOST
    from app.service import job_service

    with flask_app.app_context():
        claims = job_service.state.job_store.claims
        path = claims.path("b" * 32)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump({"owner": f"{HOST}:{2**22 + 12345}:1"}, fh)  # no such pid
        assert not claims.is_live("b" * 32)
        with open(path, "w") as fh:
            json.dump({"owner": f"{HOST}:{os.getppid()}:1"}, fh)
        assert claims.is_live("b" * 32)


def test_wiped_cache_directory_is_recreated(flask_app, client, api, renders):
    job = api.complete(BODY)
    data = client.get(job["download_url"]).data
    shutil.rmtree(flask_app.config["RESONANT_CACHE_DIR"])
    assert client.get(f"{API}/jobs/{job['job_id']}").status_code == 404
    again = api.complete(BODY)
    assert again["job_id"] == job["job_id"] and client.get(again["download_url"]).data == data


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_objects_dir_fails_the_job_and_recovers(flask_app, client, api, renders):
    objects = cache(flask_app, "objects")
    os.makedirs(objects)
    os.chmod(objects, 0o500)
    try:
        job = api.wait(api.submit(BODY)["job_id"])
        assert job["status"] == "failed" and "Cache write failed" in job["error"]
    finally:
        os.chmod(objects, 0o700)
    assert client.post(f"{API}/generate", json=BODY).status_code == 202
    assert api.wait(job["job_id"])["status"] == "complete"


class FlakyDisk:
    """An atomic writer (injected into the Store) that refuses some paths while `refuse` is set."""

    def __init__(self, error: OSError, where: str = "/"):
        from app.store import atomic_write

        self.real, self.error, self.where, self.refuse = atomic_write, error, where, True

    def __call__(self, path: str, data: bytes) -> None:
        if self.refuse and self.where in path:
            raise self.error
        self.real(path, data)


def flaky_app(make_app, tmp_path, disk: FlakyDisk):
    from app.jobstore import FileJobStore
    from app.store import Store

    root = str(tmp_path / "flaky")
    return make_app(RESONANT_CACHE_DIR=root, job_store=FileJobStore(Store(root, write=disk), stale_after=10))


def test_disk_write_error_fails_the_job_clearly_and_recovers(make_app, tmp_path, renders, helpers):
    disk = FlakyDisk(OSError(28, "No space left on device"), "/objects/")
    flask_app = flaky_app(make_app, tmp_path, disk)
    client, api = flask_app.test_client(), helpers.ApiHelper(flask_app.test_client())
    job = api.wait(api.submit(BODY)["job_id"])
    assert job["status"] == "failed" and job["error"] == "Cache write failed: No space left on device"
    assert not os.listdir(cache(flask_app, "objects")) if os.path.isdir(cache(flask_app, "objects")) else True
    assert client.get(f"{API}/healthz").status_code == 200
    disk.refuse = False
    assert client.post(f"{API}/generate", json=BODY).status_code == 202
    assert api.wait(job["job_id"])["status"] == "complete"


def test_cache_refusing_the_spec_is_503_and_the_service_stays_up(make_app, tmp_path, helpers):
    disk = FlakyDisk(OSError(30, "Read-only file system"))
    flask_app = flaky_app(make_app, tmp_path, disk)
    client, api = flask_app.test_client(), helpers.ApiHelper(flask_app.test_client())
    for path in ("/generate", "/preview"):
        response = client.post(API + path, json=BODY)
        assert response.status_code == 503 and response.json["detail"] == "Cache unavailable: Read-only file system"
        assert "Retry-After" in response.headers
    assert client.get(f"{API}/healthz").status_code == 200
    disk.refuse = False
    assert api.complete(BODY)["status"] == "complete"


@pytest.mark.parametrize("seconds", [1, 5, 60])
def test_preview_is_not_stuck_behind_queued_jobs(make_app, seconds):
    """Previews (a client holds its request open) have their own lane: a pool busy with jobs,
    short or long, still answers them."""
    from app.runner import engine_render

    real, gate = engine_render, threading.Event()
    held = threading.Semaphore(0)

    def hold_jobs(spec, **kwargs):
        if spec.params["omega"] != BODY_OMEGA:  # the jobs below, not the preview
            held.release()
            assert gate.wait(timeout=60)
        return real(spec, **kwargs)

    flask_app = make_app(RESONANT_POOL_SIZE=1, RESONANT_PREVIEW_TIMEOUT=3, render=hold_jobs)
    client = flask_app.test_client()
    try:
        for omega in (2.0, 3.0, 4.0):  # one job renders (held), two wait behind it
            job = {**BODY, "duration_seconds": seconds, "params": {**BODY["params"], "omega": omega}}
            assert client.post(f"{API}/generate", json=job).status_code == 202
        assert held.acquire(timeout=30)  # the job lane is busy
        preview = client.post(f"{API}/preview", json={**BODY, "params": {**BODY["params"], "omega": BODY_OMEGA}})
        assert preview.status_code == 200 and preview.mimetype == "audio/wav"
    finally:
        gate.set()
