"""Operability: Prometheus metrics summed across gunicorn workers; optional per-client rate limits."""
from __future__ import annotations

import os
import signal

import pytest
from prometheus_client.parser import text_string_to_metric_families
from reliability_harness import API, CHEAP, BufferedClient, wait_for

from app import create_app


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a Prometheus text exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(parsed: dict, name: str, **labels: str) -> float:
    return parsed.get((name, frozenset(labels.items())), 0.0)


HEALTH = {"method": "GET", "endpoint": f"{API}/healthz", "status": "200"}


# -- in-process -------------------------------------------------------------------------------
@pytest.fixture
def make_client(tmp_path):
    def make(**settings):
        app = create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(tmp_path / "cache"), **settings})
        app.test_client_class = BufferedClient
        return app.test_client()
    return make


def test_metrics_count_requests_by_endpoint_and_status(make_client):
    client = make_client()
    before = samples(client.get("/metrics").text)
    for _ in range(7):
        client.get(f"{API}/healthz")
    client.get(f"{API}/jobs/{'0' * 32}")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = samples(response.text)
    assert value(after, "resonant_http_requests_total", **HEALTH) - value(
        before, "resonant_http_requests_total", **HEALTH) == 7
    job = {"method": "GET", "endpoint": f"{API}/jobs/<job_id:job_id>", "status": "404"}
    assert value(after, "resonant_http_requests_total", **job) - value(before, "resonant_http_requests_total", **job) == 1
    latency = {"method": "GET", "endpoint": f"{API}/healthz"}
    assert value(after, "resonant_http_request_duration_seconds_count", **latency) >= 7


def test_rate_limiting_is_off_by_default(make_client):
    client = make_client()
    responses = [client.get(f"{API}/presets") for _ in range(30)]
    assert {r.status_code for r in responses} == {200}
    assert "X-RateLimit-Limit" not in responses[-1].headers


def test_rate_limit_per_client_429_json_with_retry_after(make_client):
    client = make_client(RESONANT_RATE_LIMIT="3/minute", RESONANT_RATE_LIMIT_STORAGE="memory://")
    alice = {"REMOTE_ADDR": "10.0.0.1"}
    codes = [client.get(f"{API}/presets", environ_overrides=alice).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = client.post(f"{API}/generate", json=CHEAP, environ_overrides=alice)
    assert refused.status_code == 429 and refused.mimetype == "application/json"
    assert "Rate limit exceeded" in refused.get_json()["detail"]
    assert refused.headers["Retry-After"].isdigit() and int(refused.headers["Retry-After"]) > 0
    bob = client.get(f"{API}/presets", environ_overrides={"REMOTE_ADDR": "10.0.0.2"})
    assert bob.status_code == 200 and "Retry-After" not in bob.headers  # another client, own budget
    for path in (f"{API}/healthz", "/metrics"):  # monitoring is never limited
        assert client.get(path, environ_overrides=alice).status_code == 200


# -- across gunicorn workers ------------------------------------------------------------------
@pytest.mark.slow
def test_metrics_are_summed_across_two_workers(start_gunicorn, tmp_path):
    metrics_dir = tmp_path / "prom"
    server = start_gunicorn(workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    requests = 60
    start = value(samples(server.request("GET", "/metrics").body.decode()), "resonant_http_requests_total", **HEALTH)
    workers = server.worker_pids()
    for paused, answering in ((workers[0], workers[1]), (workers[1], workers[0])):
        os.kill(paused, signal.SIGSTOP)  # half the requests to each worker, for certain
        try:
            for _ in range(requests // 2):
                assert server.request("GET", f"{API}/healthz").status == 200
        finally:
            os.kill(paused, signal.SIGCONT)
    writers = {p.name.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
    assert len(writers) == 2, writers  # both workers counted some of them
    job_id = server.submit(CHEAP)["job_id"]
    assert server.wait_job(job_id)["status"] == "complete"
    server.submit(CHEAP)  # the same request again: answered from the cache

    def scrape() -> dict:
        return samples(server.request("GET", "/metrics").body.decode())

    parsed = scrape()
    assert value(parsed, "resonant_http_requests_total", **HEALTH) == start + requests
    assert value(parsed, "resonant_jobs_finished_total", outcome="complete") == 1
    assert value(parsed, "resonant_render_duration_seconds_count", format="midi") == 1
    assert value(parsed, "resonant_cache_lookups_total", kind="job", result="miss") == 1
    assert value(parsed, "resonant_cache_lookups_total", kind="job", result="hit") == 1
    assert value(parsed, "resonant_render_queue_depth") == 0
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)  # a dead worker's counts stay in the totals
    wait_for(lambda: victim not in server.worker_pids() and len(server.worker_pids()) == 2,
             timeout=60, what="a replacement worker")
    assert value(scrape(), "resonant_http_requests_total", **HEALTH) == start + requests


@pytest.mark.slow
def test_memory_rate_limit_counts_per_worker(start_gunicorn):
    """memory:// (the default) keeps one budget per worker process, as documented: with 2
    workers a client gets the limit from each. (A redis:// store shares one budget; no redis
    server is part of the test environment.)"""
    server = start_gunicorn(workers=2, env={"RESONANT_RATE_LIMIT": "3/minute"})
    workers = server.worker_pids()
    for paused in workers:  # each worker alone in turn: each allows 3, then refuses
        os.kill(paused, signal.SIGSTOP)
        try:
            replies = [server.request("GET", f"{API}/presets") for _ in range(5)]
        finally:
            os.kill(paused, signal.SIGCONT)
        assert [r.status for r in replies] == [200, 200, 200, 429, 429]
        assert replies[-1].json["detail"].startswith("Rate limit exceeded")
        assert replies[-1].header("Retry-After").isdigit()
    assert server.request("GET", f"{API}/healthz").status == 200  # exempt
