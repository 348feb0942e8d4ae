"""Operability: Prometheus metrics summed across gunicorn workers; optional per-client rate limits."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from reliability_harness import API, CHEAP, BufferedClient, free_port, needs, wait_for

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


def test_rate_limit_store_down_falls_back_per_process(make_client, caplog):
    """A redis:// store that does not answer: no 500; the limit still holds (in memory) and
    the fallback is logged."""
    client = make_client(RESONANT_RATE_LIMIT="3/minute",
                         RESONANT_RATE_LIMIT_STORAGE=f"redis://127.0.0.1:{free_port()}")
    codes = [client.get(f"{API}/presets").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert any("storage unreachable" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)


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
    workers a client gets the limit from each. (A redis:// store shares one budget: below.)"""
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


class RedisServer:
    """`redis-server` on a free loopback port, nothing persisted; `stop()` / `start()` again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._ping, timeout=15, what="redis-server to answer PING")

    def _ping(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
        with contextlib.suppress(redis.ConnectionError), self.client() as client:
            return client.ping()
        return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def limit_keys(self) -> list[bytes]:
        with self.client() as client:
            return client.keys("LIMITS*")

    def hits(self) -> int:
        """Requests counted in redis (all rate-limit counters summed)."""
        with self.client() as client:
            return sum(int(client.get(key) or 0) for key in client.keys("LIMITS*"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        needs("redis-server (`make test` installs it: sysdeps-test)")
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


def alone(server, worker: int, n: int) -> list:
    """`n` requests answered by `worker` alone (the other workers paused with SIGSTOP)."""
    others = [pid for pid in server.worker_pids() if pid != worker]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        return [server.request("GET", f"{API}/presets") for _ in range(n)]
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


@pytest.mark.slow
def test_redis_rate_limit_is_one_budget_across_workers(start_gunicorn, redis_server):
    """redis:// shares one budget: 10/minute means 10 in all, however the requests are spread
    over the workers (with memory:// each worker would allow 10, as shown above)."""
    server = start_gunicorn(workers=2, env={"RESONANT_RATE_LIMIT": "10/minute",
                                            "RESONANT_RATE_LIMIT_STORAGE": redis_server.url})
    first, second = server.worker_pids()
    replies = alone(server, first, 6) + alone(server, second, 9)
    assert [r.status for r in replies] == [200] * 10 + [429] * 5  # 6 + 4 allowed, not 6 + 9
    for refused in replies[10:]:
        assert refused.header("Content-Type") == "application/json"
        assert refused.json["detail"].startswith("Rate limit exceeded (10 per 1 minute)")
        assert refused.header("Retry-After").isdigit() and int(refused.header("Retry-After")) > 0
    assert replies[9].header("X-RateLimit-Remaining") == "0"
    assert redis_server.limit_keys()  # the counter lives in redis
    assert server.request("GET", f"{API}/healthz").status == 200  # exempt
    assert server.request("GET", "/metrics").status == 200


@pytest.mark.slow
def test_redis_down_falls_back_per_worker_and_recovers(start_gunicorn, redis_server):
    """The store dies mid-run: no 500 and no hang; each worker logs it and limits on its own
    (per-worker, as memory://) until redis answers again, then counts in redis again."""
    server = start_gunicorn(workers=2, env={"RESONANT_RATE_LIMIT": "3/minute",
                                            "RESONANT_RATE_LIMIT_STORAGE": redis_server.url})
    first, second = server.worker_pids()
    assert [r.status for r in alone(server, first, 1)] == [200]
    assert redis_server.limit_keys()
    redis_server.stop()
    # each worker now counts alone from zero: 3 allowed each, then 429 with Retry-After
    for worker in (first, second):
        replies = alone(server, worker, 5)
        assert [r.status for r in replies] == [200, 200, 200, 429, 429], server.log_tail()
        assert replies[-1].json["detail"].startswith("Rate limit exceeded")
        assert replies[-1].header("Retry-After").isdigit()
    assert server.request("GET", f"{API}/healthz").status == 200
    assert server.log_tail(20000).count("Rate limit storage unreachable") == 2  # once per worker
    assert "Traceback" not in server.log_tail(20000)

    redis_server.start()  # an empty redis on the same port: each worker goes back to it
    assert redis_server.hits() == 0
    for worker in (first, second):  # (it retries the store after 1, 2, 4 ... 32 s)

        def counted_in_redis(worker: int = worker) -> bool:
            before = redis_server.hits()
            assert {r.status for r in alone(server, worker, 1)} <= {200, 429}
            return redis_server.hits() == before + 1

        wait_for(counted_in_redis, timeout=70, interval=0.5, what=f"worker {worker} back on redis")
