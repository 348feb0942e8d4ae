"""`python -m bench.redis_bench [--rounds 5]`: the Redis backend against the filesystem one.

Starts a redis-server and gunicorns (2 workers each, `app/gunicorn_conf.py`) on free loopback
ports, each process in its own group and always stopped, and prints:

- GET /jobs/{id} of a complete job with wrk, Redis vs filesystem (median of paired rounds);
  budget: Redis >= 0.8x filesystem.
- a 30 s WAV job, POST /generate -> complete (poll 3 ms), p50 on each; budget: Redis within
  1.2x filesystem.
- two Redis hosts vs one under the same wrk GET load (total requests/s); on a machine with
  2 cores both hosts share them, so the figure measures sharing, not scale-out.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from http.client import HTTPConnection
from pathlib import Path

from bench.common import ROOT, free_port, median, request, run_wrk, spawned, wait_http

JSON_HEADERS = {"Content-Type": "application/json"}
GEOMETRY = {"n": 24, "k": 10, "omega": 1.0, "xi": 1.0, "lock_psi_tau": True}


def _gunicorn() -> str:
    local = Path(sys.executable).parent / "gunicorn"
    return str(local) if local.exists() else (shutil.which("gunicorn") or "gunicorn")


def start_host(stack: ExitStack, tmp: Path, name: str, redis_url: str = "") -> int:
    port = free_port()
    env = {**os.environ, "RESONANT_BIND": f"127.0.0.1:{port}", "RESONANT_CACHE_DIR": str(tmp / name),
           "WEB_CONCURRENCY": "2", "PYTHONPATH": str(ROOT), "RESONANT_RATE_LIMIT": "",
           "RESONANT_REDIS_URL": redis_url, "RESONANT_LOG_LEVEL": "warning"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = stack.enter_context(spawned([_gunicorn(), "--config", "app/gunicorn_conf.py", "wsgi:app"],
                                       log=tmp / f"{name}.log", env=env, cwd=ROOT))
    wait_http(port, "/api/v1/healthz", proc)
    return port


def job_seconds(port: int, index: int) -> float:
    """Seconds from POST /generate of a new 30 s WAV job to a poll that says complete."""
    body = {"params": {**GEOMETRY, "psi": round(1.0 + 0.0007 * index, 6)}, "duration_seconds": 30,
            "format": "wav"}
    conn = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        t0 = time.perf_counter()
        reply = request(port, "POST", "/api/v1/generate", body=json.dumps(body).encode(),
                        headers=JSON_HEADERS, conn=conn)
        job = json.loads(reply.body)
        status = job.get("status")
        while status not in ("complete", "failed"):
            time.sleep(0.003)
            status = json.loads(request(port, "GET", f"/api/v1/jobs/{job['job_id']}", conn=conn).body)["status"]
        if status != "complete":
            raise RuntimeError(f"job {job['job_id']} {status}")
        return time.perf_counter() - t0
    finally:
        conn.close()


def complete_job(port: int) -> str:
    body = json.dumps({"params": {"n": 12, "k": 5}, "duration_seconds": 1, "format": "midi"}).encode()
    job_id = json.loads(request(port, "POST", "/api/v1/generate", body=body, headers=JSON_HEADERS).body)["job_id"]
    while json.loads(request(port, "GET", f"/api/v1/jobs/{job_id}").body)["status"] != "complete":
        time.sleep(0.01)
    return job_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("redis-server not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="resonant-redis-bench-") as tmpdir, ExitStack() as stack:
        tmp = Path(tmpdir)
        rport = free_port()
        redis_proc = stack.enter_context(spawned(
            [redis_server, "--port", str(rport), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
            log=tmp / "redis.log"))
        time.sleep(0.3)
        if redis_proc.poll() is not None:
            raise RuntimeError("redis-server exited")
        url = f"redis://127.0.0.1:{rport}/0"
        fs, rd, rd2 = start_host(stack, tmp, "fs"), start_host(stack, tmp, "redis", url), start_host(stack, tmp, "redis2", url)

        # POST -> complete, 30 s WAV
        fs_times, rd_times = [], []
        for i in range(9):
            fs_times.append(job_seconds(fs, i))
            rd_times.append(job_seconds(rd, i))
        fs_p50, rd_p50 = median(fs_times[1:]), median(rd_times[1:])  # the first warms a worker
        print(f"30 s WAV POST -> complete p50: filesystem {fs_p50 * 1000:.0f} ms, redis {rd_p50 * 1000:.0f} ms, "
              f"ratio {rd_p50 / fs_p50:.2f} (budget <= 1.2)")

        # GET /jobs/{id}: paired rounds
        ids = {port: complete_job(port) for port in (fs, rd)}
        ratios, fs_rates, rd_rates = [], [], []
        for _ in range(args.rounds):
            a = run_wrk(f"http://127.0.0.1:{fs}/api/v1/jobs/{ids[fs]}", connections=64, seconds=args.seconds)
            b = run_wrk(f"http://127.0.0.1:{rd}/api/v1/jobs/{ids[rd]}", connections=64, seconds=args.seconds)
            fs_rates.append(a.rps)
            rd_rates.append(b.rps)
            ratios.append(b.rps / a.rps)
        print(f"GET /jobs/{{id}} (complete): filesystem {median(fs_rates):.0f} req/s, redis "
              f"{median(rd_rates):.0f} req/s, ratio {median(ratios):.2f} (median of {args.rounds} pairs; budget >= 0.8)")

        # two hosts vs one
        one = median([run_wrk(f"http://127.0.0.1:{rd}/api/v1/jobs/{ids[rd]}", connections=64,
                              seconds=args.seconds).rps for _ in range(3)])
        two_totals = []
        for _ in range(3):
            results: dict[int, float] = {}

            def hit(port: int, results: dict[int, float] = results) -> None:
                results[port] = run_wrk(f"http://127.0.0.1:{port}/api/v1/jobs/{ids[rd]}", connections=64,
                                        seconds=args.seconds).rps

            threads = [threading.Thread(target=hit, args=(port,)) for port in (rd, rd2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            two_totals.append(sum(results.values()))
        two = median(two_totals)
        print(f"GET /jobs/{{id}}: one redis host {one:.0f} req/s, two hosts together {two:.0f} req/s, "
              f"ratio {two / one:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
