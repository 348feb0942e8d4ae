"""The Redis job store in-process, against a real redis-server: specs before the 202, leases by
compare-and-act scripts, done records written once, republish, and a Redis that is gone."""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import threading
import time

import pytest
import redis
from reliability_harness import API, CHEAP, BufferedClient, wait_for

from app import create_app
from app.claims import HOST
from app.domain import StoreUnavailable
from app.jobstore import RedisJobStore
from app.runner import engine_render
from app.store import Store


@pytest.fixture
def make_app(tmp_path, redis_server):
    made = []

    def make(name: str = "a", *, render=None, **settings):
        app = create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(tmp_path / name),
                          "RESONANT_REDIS_URL": redis_server.url, "RESONANT_POOL_SIZE": 2,
                          "RESONANT_CLAIM_STALE_SECONDS": 2, **settings}, render=render)
        app.test_client_class = BufferedClient
        made.append(app)
        return app

    redis_server.command("FLUSHALL")
    yield make
    for app in made:
        app.extensions["resonant"].shutdown()


@pytest.fixture
def client_redis(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def wait_complete(client, job_id: str) -> dict:
    def done():
        job = client.get(f"{API}/jobs/{job_id}").json
        return job if job["status"] in ("complete", "failed") else None

    return wait_for(done, timeout=60, what=f"job {job_id}")


def test_spec_is_in_redis_before_the_202_and_done_holds_the_sha256(make_app, client_redis):
    client = make_app().test_client()
    reply = client.post(f"{API}/generate", json=CHEAP)
    assert reply.status_code == 202
    job_id = reply.json["job_id"]
    assert json.loads(client_redis.get(f"resonant:spec:{job_id}"))["format"] == "midi"
    assert wait_complete(client, job_id)["status"] == "complete"
    data = client.get(f"{API}/jobs/{job_id}/download").data
    done = json.loads(client_redis.get(f"resonant:done:{job_id}"))
    assert done == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert not client_redis.sismember("resonant:pending", job_id)


def test_second_host_renders_again_and_serves_the_same_bytes(make_app):
    a, b = make_app("a").test_client(), make_app("b").test_client()
    job_id = a.post(f"{API}/generate", json=CHEAP).json["job_id"]
    assert wait_complete(b, job_id)["status"] == "complete"  # B knows the job from Redis
    assert b.get(f"{API}/jobs/{job_id}/download").data == a.get(f"{API}/jobs/{job_id}/download").data


def test_lease_is_released_and_renewed_only_by_its_token(tmp_path, redis_server, client_redis):
    redis_server.command("FLUSHALL")
    one = RedisJobStore(Store(str(tmp_path / "one")), redis_server.url, stale_after=1)
    two = RedisJobStore(Store(str(tmp_path / "two")), redis_server.url, stale_after=1)
    try:
        job_id = "c" * 32
        assert one.acquire(job_id)
        assert not two.acquire(job_id) and two.lease_live(job_id)
        two.release(job_id)  # not its lease: no effect
        assert client_redis.exists(f"resonant:lease:{job_id}")
        time.sleep(1.5)  # past the lease: one's heartbeat renewed it
        assert two.lease_live(job_id) and not two.acquire(job_id)
        one.release(job_id)
        assert not client_redis.exists(f"resonant:lease:{job_id}")
        assert two.acquire(job_id)
        two.release(job_id)
    finally:
        one.close()
        two.close()


def test_lease_of_a_dead_local_process_is_taken_over_at_once(tmp_path, redis_server, client_redis):
    redis_server.command("FLUSHALL")
    store = RedisJobStore(Store(str(tmp_path / "s")), redis_server.url, stale_after=60)
    try:
        job_id = "d" * 32
        client_redis.set(f"resonant:lease:{job_id}", f"{HOST}:{2**22 + 12345}:1:x", px=60000)
        assert not store.lease_live(job_id)
        assert store.acquire(job_id)
        client_redis.set(f"resonant:lease:{'e' * 32}", f"{HOST}:{os.getppid()}:1:x", px=60000)
        assert store.lease_live("e" * 32) and not store.acquire("e" * 32)
        store.release(job_id)
    finally:
        store.close()


def test_flushed_redis_is_restored_from_local_specs(make_app, redis_server, client_redis):
    app = make_app()
    client = app.test_client()
    job_id = client.post(f"{API}/generate", json=CHEAP).json["job_id"]
    assert wait_complete(client, job_id)["status"] == "complete"
    redis_server.command("FLUSHALL")
    wait_for(lambda: client_redis.exists(f"resonant:spec:{job_id}") and client_redis.exists(
        f"resonant:done:{job_id}"), timeout=10, what="recovery to republish")
    assert client.get(f"{API}/jobs/{job_id}").json["status"] == "complete"
    other = make_app("b").test_client()
    assert other.get(f"{API}/jobs/{job_id}").json["status"] == "complete"


def test_redis_gone_is_503_with_retry_after_and_healthz_says_so(tmp_path):
    app = create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(tmp_path / "c"),
                      "RESONANT_REDIS_URL": "redis://127.0.0.1:1/0"})
    app.test_client_class = BufferedClient
    client = app.test_client()
    try:
        for method, path, body in (("post", "/generate", CHEAP), ("get", "/jobs/" + "a" * 32, None)):
            reply = getattr(client, method)(API + path, json=body)
            assert reply.status_code == 503 and reply.json["detail"] and reply.headers["Retry-After"]
        health = client.get(f"{API}/healthz")
        assert health.status_code == 200
        assert health.json["backend"] == "redis" and health.json["redis"] == "unavailable"
        with pytest.raises(StoreUnavailable):
            app.extensions["resonant"].job_store.done("a" * 32)
    finally:
        app.extensions["resonant"].shutdown()


def test_a_callback_taken_by_one_host_is_delivered_when_another_host_renders_the_job(make_app):
    """Host A accepts the callback_url while host B holds the job's lease and renders it: A's
    webhook dispatcher learns from Redis that the job is complete and delivers it, signed."""
    from standardwebhooks import Webhook

    secret = "whsec_" + base64.b64encode(b"a secret shared by both hosts!!!").decode()
    received: list[tuple[bytes, dict[str, str]]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.rfile.read(int(self.headers["Content-Length"])), dict(self.headers.items())))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    rendering, release = threading.Event(), threading.Event()
    a_rendered: list[str] = []

    def b_render(spec, **kwargs):
        rendering.set()
        release.wait(timeout=30)
        return engine_render(spec, **kwargs)

    def a_render(spec, **kwargs):
        a_rendered.append(spec.id)
        return engine_render(spec, **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        hooks = {"RESONANT_WEBHOOK_SECRET": secret, "RESONANT_WEBHOOK_ALLOW_PRIVATE": True}
        a = make_app("a", render=a_render, **hooks).test_client()
        b = make_app("b", render=b_render, **hooks).test_client()
        job_id = b.post(f"{API}/generate", json=CHEAP).json["job_id"]
        assert rendering.wait(timeout=30)
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        reply = a.post(f"{API}/generate", json={**CHEAP, "callback_url": url})
        assert reply.json["job_id"] == job_id and reply.json["status"] == "processing"
        release.set()
        wait_for(lambda: received, timeout=30, what="the delivery")
        body, headers = received[0]
        assert Webhook(secret).verify(body, headers)["status"] == "complete"
        assert a_rendered == []
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()
