"""Two hosts, one redis-server (issue 10): hosts A and B are two gunicorns with their own cache
directories (their own "disks") and RESONANT_REDIS_URL; leases last 2 s.

A reaches Redis as its own ACL user, so A alone can be partitioned from Redis (the user is
switched off and its connections killed) while B goes on. Every process started here (redis,
gunicorns) is stopped at the end of the module, also on failure; frozen ones are continued.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from reliability_harness import API, Gunicorn, RedisServer, Reply, wait_for

from app.jobstore import BREAKER_SECONDS

pytestmark = pytest.mark.slow

STALE_SECONDS = 2
#: A 300 s MP3 of a long cycle: seconds of rendering, long enough to kill or freeze a renderer.
LONG_MP3 = {"params": {"n": 2000, "k": 777, "omega": 2.5, "xi": 1.8}, "duration_seconds": 300, "format": "mp3"}
A_USER, A_PASSWORD = "hosta", "hosta-secret"


def body(i: int, **extra) -> dict:
    """A cheap job, distinct per `i` (MIDI, 1 s: rendered in milliseconds)."""
    return {"params": {"n": 12 + i % 40, "k": 5, "omega": 1.0 + (i // 40) / 8}, "duration_seconds": 1,
            "format": "midi", **extra}


class Cluster:
    """redis-server + hosts A and B (2 workers each)."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.redis = RedisServer(root / "redis")
        self.hosts: list[Gunicorn] = []
        try:
            self.add_a_user()
            self.a = self.start_host("a", url=f"redis://{A_USER}:{A_PASSWORD}@127.0.0.1:{self.redis.port}/0")
            self.b = self.start_host("b")
        except BaseException:
            self.stop()
            raise

    def add_a_user(self) -> None:
        assert self.redis.command("ACL", "SETUSER", A_USER, "on", f">{A_PASSWORD}", "~*", "&*", "+@all") == "+OK"

    def start_host(self, name: str, *, url: str | None = None, workers: int = 2, **env: str) -> Gunicorn:
        host = Gunicorn(self.root / name, workers=workers, env={
            "RESONANT_REDIS_URL": url or self.redis.url, "RESONANT_CLAIM_STALE_SECONDS": str(STALE_SECONDS),
            "RESONANT_POOL_SIZE": "1", **env})
        self.hosts.append(host)
        return host

    def restart(self, host: Gunicorn) -> Gunicorn:
        """Start a stopped (or killed) host again on its own cache directory."""
        host.stop()
        if host is self.a:
            self.a = self.start_host("a", url=f"redis://{A_USER}:{A_PASSWORD}@127.0.0.1:{self.redis.port}/0")
            return self.a
        self.b = self.start_host("b")
        return self.b

    def renderer(self, job_id: str) -> tuple[Gunicorn, Gunicorn]:
        """(the host whose worker holds the job's lease, the other host), once a lease exists.

        Usually the host that was sent the POST; the other one when its recovery took the job
        from a busy host's queue before that host's render thread leased it.
        """
        pid = wait_for(lambda: lease_owner_pid(self, job_id), timeout=30, interval=0.01, what="a lease")
        if pid in self.a.worker_pids():
            return self.a, self.b
        assert pid in self.b.worker_pids(), pid
        return self.b, self.a

    def stop(self) -> None:
        for host in self.hosts:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(host.proc.pid, signal.SIGCONT)
            host.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    made = Cluster(tmp_path_factory.mktemp("multihost"))
    try:
        yield made
    finally:
        made.stop()


def settle(host: Gunicorn, job_id: str, timeout: float = 30) -> dict:
    """Poll until the job is complete or failed; a 503 (Redis just came back: the host's
    one-second breaker) is tolerated, a 404 (the job was lost) never."""

    def done() -> dict | None:
        reply = host.request("GET", f"{API}/jobs/{job_id}")
        assert reply.status in (200, 503), (reply.status, reply.body)
        if reply.status == 503:
            return None
        return reply.json if reply.json["status"] in ("complete", "failed") else None

    return wait_for(done, timeout=timeout, what=f"job {job_id} to finish")


def metric(host: Gunicorn, name: str) -> float:
    """The sum of a metric's samples (all label sets) on `host`."""
    text = host.request("GET", "/metrics").body.decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + " ", name + "{")))


def download(host: Gunicorn, job_id: str) -> Reply:
    return host.request("GET", f"{API}/jobs/{job_id}/download")


def done_record(cluster: Cluster, job_id: str) -> dict:
    return json.loads(cluster.redis.command("GET", f"resonant:done:{job_id}"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def renders(host: Gunicorn) -> float:
    return metric(host, "resonant_render_duration_seconds_count")


def lease_owner_pid(cluster: Cluster, job_id: str) -> int | None:
    owner = cluster.redis.command("GET", f"resonant:lease:{job_id}")
    return int(owner.split(":")[1]) if owner else None


# 1 ------------------------------------------------------------------------------------------
def test_post_on_a_download_on_b_is_rendered_again_and_verified(cluster):
    job_id = cluster.a.submit({**body(1), "format": "wav"})["job_id"]
    assert cluster.b.wait_job(job_id)["status"] == "complete"
    before = metric(cluster.b, "resonant_rerenders_on_miss_total")
    on_b = download(cluster.b, job_id)
    assert on_b.status == 200
    assert metric(cluster.b, "resonant_rerenders_on_miss_total") == before + 1  # B lacked the file
    assert on_b.body == download(cluster.a, job_id).body
    assert done_record(cluster, job_id) == {"size": len(on_b.body), "sha256": sha(on_b.body)}


# 2 ------------------------------------------------------------------------------------------
def test_identical_posts_on_both_hosts_at_once_make_one_job(cluster):
    request = {**body(2), "format": "wav", "duration_seconds": 10}
    before = renders(cluster.a) + renders(cluster.b)
    barrier, replies = threading.Barrier(2), {}

    def post(host: Gunicorn) -> None:
        barrier.wait()
        replies[host.port] = host.submit(request)

    threads = [threading.Thread(target=post, args=(host,)) for host in (cluster.a, cluster.b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len({job["job_id"] for job in replies.values()}) == 1
    job_id = replies[cluster.a.port]["job_id"]
    assert cluster.a.wait_job(job_id)["status"] == cluster.b.wait_job(job_id)["status"] == "complete"
    assert 1 <= renders(cluster.a) + renders(cluster.b) - before <= 2
    assert cluster.redis.command("EXISTS", f"resonant:done:{job_id}") == ":1"
    assert cluster.redis.command("SISMEMBER", "resonant:pending", job_id) == ":0"


# 9 ------------------------------------------------------------------------------------------
def test_a_host_whose_render_differs_serves_nothing_and_says_so(cluster):
    job_id = cluster.a.submit({**body(9), "format": "wav"})["job_id"]
    assert cluster.a.wait_job(job_id)["status"] == "complete"
    good = download(cluster.a, job_id).body
    odd = cluster.start_host("odd", workers=1, RESONANT_TEST_CORRUPT_RENDER="1")
    try:
        reply = download(odd, job_id)
        assert reply.status == 503 and reply.json["detail"] and reply.header("Retry-After")
        assert reply.header("Content-Type") == "application/json"
        assert metric(odd, "resonant_hash_mismatches_total") == 1
        assert "HASH MISMATCH" in odd.log_tail(20000)
        assert not list((odd.cache_dir / "objects").glob(f"{job_id}.*"))
        assert done_record(cluster, job_id)["sha256"] == sha(good)  # the record is untouched
    finally:
        odd.stop()
    assert download(cluster.b, job_id).body == good


# 10 -----------------------------------------------------------------------------------------
def test_eviction_on_a_leaves_b_alone_and_a_renders_again(cluster):
    job_id = cluster.a.submit({**body(10), "format": "wav"})["job_id"]
    assert cluster.a.wait_job(job_id)["status"] == "complete"
    good = download(cluster.a, job_id).body
    assert download(cluster.b, job_id).body == good
    for path in (cluster.a.cache_dir / "objects").glob(f"{job_id}.*"):
        path.unlink()  # what eviction does: the file and its sidecar go, the spec stays
    b_before, a_before = renders(cluster.b), metric(cluster.a, "resonant_rerenders_on_miss_total")
    assert download(cluster.b, job_id).body == good
    assert renders(cluster.b) == b_before  # B served its own copy
    assert cluster.a.wait_job(job_id)["status"] == "complete"
    assert download(cluster.a, job_id).body == good
    assert metric(cluster.a, "resonant_rerenders_on_miss_total") == a_before + 1


# 5 ------------------------------------------------------------------------------------------
def test_a_partitioned_from_redis_answers_503_quickly_and_loses_nothing(cluster):
    known = cluster.a.submit(body(50))["job_id"]
    assert cluster.a.wait_job(known)["status"] == "complete"
    assert cluster.redis.command("ACL", "SETUSER", A_USER, "off") == "+OK"
    cluster.redis.command("CLIENT", "KILL", "USER", A_USER)
    accepted = []
    try:
        for i in range(51, 55):
            started = time.monotonic()
            reply = cluster.a.request("POST", f"{API}/generate", body=body(i), timeout=10)
            assert time.monotonic() - started < 1.0
            assert reply.status == 503 and reply.header("Retry-After"), (reply.status, reply.body)
            accepted.append(cluster.b.submit(body(i))["job_id"])  # B is not partitioned
            for job_id in (accepted[-1], known):  # new to A: 503; known complete: may be remembered
                started = time.monotonic()
                reply = cluster.a.request("GET", f"{API}/jobs/{job_id}", timeout=10)
                assert time.monotonic() - started < 1.0
                assert reply.status in ((503,) if job_id != known else (200, 503)), (reply.status, reply.body)
                if reply.status == 503:
                    assert reply.header("Retry-After")
        health = cluster.a.request("GET", f"{API}/healthz").json
        assert health["backend"] == "redis" and health["redis"] == "unavailable"
    finally:
        assert cluster.redis.command("ACL", "SETUSER", A_USER, "on") == "+OK"
    for job_id in [*accepted, known]:
        assert settle(cluster.a, job_id)["status"] == "complete"
        assert settle(cluster.b, job_id)["status"] == "complete"
    for i, job_id in zip(range(51, 55), accepted, strict=True):
        assert cluster.a.submit(body(i))["job_id"] == job_id  # the same job, complete: 200
    wait_for(lambda: cluster.redis.command("SCARD", "resonant:pending") == ":0", timeout=10,
             what="no job left pending")


# 6 ------------------------------------------------------------------------------------------
def test_frozen_redis_every_request_answers_within_one_second(cluster):
    job_id = cluster.b.submit(body(60))["job_id"]
    assert cluster.b.wait_job(job_id)["status"] == "complete"
    cluster.redis.signal(signal.SIGSTOP)
    statuses = set()
    try:
        for i in range(3):
            for host in (cluster.a, cluster.b):
                for method, path, payload in (("POST", f"{API}/generate", body(61 + i)),
                                              ("GET", f"{API}/jobs/{job_id}", None),
                                              ("GET", f"{API}/jobs/{job_id}/download", None),
                                              ("GET", f"{API}/healthz", None)):
                    started = time.monotonic()
                    reply = host.request(method, path, body=payload, timeout=10)
                    assert time.monotonic() - started < 1.0, (method, path)
                    assert reply.status in (200, 503), (method, path, reply.status)
                    if reply.status == 503:
                        assert reply.header("Retry-After") and reply.json["detail"]
                    statuses.add((method, path.rsplit("/", 1)[-1], reply.status))
    finally:
        cluster.redis.signal(signal.SIGCONT)
        time.sleep(BREAKER_SECONDS + 0.2)  # each worker fails fast for a second after an error
    assert ("POST", "generate", 503) in statuses and ("GET", "healthz", 200) in statuses
    assert settle(cluster.a, job_id)["status"] == "complete"


# 8 ------------------------------------------------------------------------------------------
def test_flushall_hosts_restore_from_local_specs(cluster):
    on_a = [cluster.a.submit(body(80 + i))["job_id"] for i in range(3)]
    on_b = [cluster.b.submit(body(83 + i))["job_id"] for i in range(3)]
    for job_id in on_a + on_b:
        assert cluster.a.wait_job(job_id)["status"] == "complete"
    assert cluster.redis.command("FLUSHALL") == "+OK"
    for job_id in on_a + on_b:
        for host in (cluster.a, cluster.b):
            assert settle(host, job_id)["status"] == "complete"  # never a 404


# 7 ------------------------------------------------------------------------------------------
def test_redis_killed_and_restarted_under_post_load_loses_no_accepted_job(cluster):
    accepted: list[str] = []
    stop = threading.Event()

    def load() -> None:
        i = 0
        while not stop.is_set():
            host = (cluster.a, cluster.b)[i % 2]
            with contextlib.suppress(OSError):
                reply = host.request("POST", f"{API}/generate", body=body(100 + i), timeout=10)
                if reply.status in (200, 202):
                    accepted.append(reply.json["job_id"])
                else:
                    assert reply.status == 503, reply.status
            i += 1

    thread = threading.Thread(target=load)
    thread.start()
    try:
        wait_for(lambda: len(accepted) >= 10, timeout=30, what="POSTs accepted")
        cluster.redis.kill()  # no persistence: Redis forgets everything
        time.sleep(0.5)
        cluster.redis.start()
        cluster.add_a_user()
        count = len(accepted)
        wait_for(lambda: len(accepted) >= count + 10, timeout=30, what="POSTs accepted again")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    for job_id in accepted:
        for host in (cluster.a, cluster.b):
            assert settle(host, job_id)["status"] == "complete"


# 4 ------------------------------------------------------------------------------------------
def test_a_frozen_past_its_lease_then_continued_makes_no_error_and_one_done(cluster):
    request = {**LONG_MP3, "duration_seconds": 120}
    job_id = cluster.a.submit(request)["job_id"]
    frozen, other = cluster.renderer(job_id)  # A, unless B took it from A's queue first
    pid = lease_owner_pid(cluster, job_id)
    os.killpg(frozen.proc.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: (lease_owner_pid(cluster, job_id) or pid) != pid
                 or cluster.redis.command("EXISTS", f"resonant:done:{job_id}") == ":1",
                 timeout=60, what="the other host to take the job over")
    finally:
        os.killpg(frozen.proc.pid, signal.SIGCONT)
    assert other.wait_job(job_id)["status"] == "complete"
    assert frozen.wait_job(job_id)["status"] == "complete"
    data = download(other, job_id).body
    assert done_record(cluster, job_id)["sha256"] == sha(data)
    assert download(frozen, job_id).body == data
    assert metric(frozen, "resonant_hash_mismatches_total") == 0
    assert "Traceback" not in frozen.log_tail(50000)


# 3 ------------------------------------------------------------------------------------------
def test_sigkill_of_a_mid_render_b_takes_over_identical_bytes(cluster):
    job_id = cluster.a.submit(LONG_MP3)["job_id"]
    killed, other = cluster.renderer(job_id)  # A, unless B took it from A's queue first
    os.killpg(killed.proc.pid, signal.SIGKILL)
    assert other.wait_job(job_id, timeout=120)["status"] == "complete"
    assert metric(other, "resonant_jobs_recovered_total") >= 1
    on_other = download(other, job_id).body
    restarted = cluster.restart(killed)
    again = download(restarted, job_id)
    assert again.status == 200 and again.body == on_other
    assert done_record(cluster, job_id) == {"size": len(on_other), "sha256": sha(on_other)}
