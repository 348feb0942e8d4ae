"""Service benchmarks against real gunicorn, each beside a peer measured in the same run.

- POST /preview cache miss (each request a distinct spec): p50/p90; budget ~50 ms. Peer: the
  engine rendering the same 5 s clip in process (the service's overhead is the difference).
- a 30 s WAV job, POST /generate -> GET /jobs/{id} says complete: p50; budget < 0.5 s.
  Peer: the 30 s render in process.
- a cached 30 s WAV download with wrk vs nginx serving the same file: ratio >= 0.5.
- GET /jobs/{id} with wrk vs a bare Flask endpoint (bench/bare_app.py) on the same gunicorn
  config file: ratio >= 0.8 (median of paired rounds), with each server's CPU per request.
Every process runs in its own process group on a free 127.0.0.1 port and is always stopped.
"""
from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path
from typing import TypeVar

from bench.common import (
    ROOT,
    Report,
    WrkResult,
    fmt_s,
    free_port,
    group_cpu_seconds,
    log_tail,
    median,
    percentile,
    progress,
    request,
    run_wrk,
    spawned,
    time_call,
    wait_http,
    worker_tone_cache_bytes,
)

T = TypeVar("T")

GUNICORN_CONF = ROOT / "app" / "gunicorn_conf.py"
WORKERS = "2"
PREVIEW_BUDGET_S = 0.050
JOB_BUDGET_S = 0.5
DOWNLOAD_BUDGET = 0.5
JOBS_GET_BUDGET = 0.8
WRK_SECONDS = 4.0
#: GET /jobs: wrk keeps each connection on the worker that accepted it, so with 16 connections
#: on 2 workers the accept-time split (8/8 or 12/4) decided a round's rate: the bare peer
#: alone swung 9.4k-14k requests per 3 s round. 64 connections even the split out, and many
#: short paired rounds let the median of per-pair ratios absorb the rest.
JOBS_GET_CONNECTIONS = 64
JOBS_GET_ROUNDS = 7
JOBS_GET_SECONDS = 3.0

GEOMETRY = {"n": 24, "k": 10, "omega": 1.0, "xi": 1.0, "lock_psi_tau": True}
JSON_HEADERS = {"Content-Type": "application/json"}


def _gunicorn() -> str:
    local = Path(sys.executable).parent / "gunicorn"
    return str(local) if local.exists() else (shutil.which("gunicorn") or "gunicorn")


def _env(port: int, cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(RESONANT_BIND=f"127.0.0.1:{port}", RESONANT_CACHE_DIR=str(cache_dir),
               WEB_CONCURRENCY=WORKERS, PYTHONPATH=str(ROOT),
               RESONANT_RATE_LIMIT="")  # wrk from one address would only measure the 429s
    return env


def gunicorn_settings(env: dict[str, str]) -> str:
    """The effective workers / worker_class / threads of the config file, for the report."""
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        conf = runpy.run_path(str(GUNICORN_CONF))
    except Exception as err:  # noqa: BLE001
        return f"(could not read {GUNICORN_CONF.name}: {err})"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    keys = ("workers", "worker_class", "threads", "keepalive", "preload_app")
    return ", ".join(f"{k}={conf[k]}" for k in keys if k in conf)


def _post_json(port: int, path: str, payload: dict, conn=None):
    return request(port, "POST", path, body=json.dumps(payload).encode(), headers=JSON_HEADERS,
                conn=conn)


# --------------------------------------------------------------------------- preview and jobs

def bench_preview(report: Report, port: int, repeats: int) -> None:
    from engine.render import render
    from engine.spec import RenderSpec
    from engine.synth.tonecache import ToneCache

    tones = ToneCache(worker_tone_cache_bytes())  # as a worker's
    progress("service: preview cache misses")
    count, warm = max(15, repeats * 5), 10  # a fresh worker needs several renders to settle
    times, engine, bad = [], [], []
    for i in range(warm + count):
        psi = round(0.1 + 0.0007 * i, 6)
        t0 = time.perf_counter()
        r = _post_json(port, "/api/v1/preview", {"params": {**GEOMETRY, "psi": psi}})
        elapsed = time.perf_counter() - t0
        if r.status != 200 or not r.headers.get("content-type", "").startswith("audio/"):
            bad.append(f"{r.status} {r.body[:120]!r}")
        elif i >= warm:
            times.append(elapsed)
            # the peer, paired: the engine alone rendering the same 5 s clip in this process
            spec = RenderSpec(**GEOMETRY, psi=psi, duration_seconds=5.0, format="wav")
            engine.append(time_call(lambda spec=spec: render(spec, tones=tones)))
    if not times:
        report.skip("POST /preview", f"no successful preview: {bad[:2]}")
        return
    p50, p90 = median(times), percentile(times, 90)
    ok = p50 <= PREVIEW_BUDGET_S
    report.table(["request", "n", "p50", "p90", "max", "engine alone (paired, in process, own tone cache)",
                  "service overhead (median of pairs)", "budget ~50 ms"],
                 [("POST /preview (miss, 5 s WAV)", len(times), fmt_s(p50), fmt_s(p90),
                   fmt_s(max(times)), fmt_s(median(engine)), fmt_s(_overhead(times, engine)),
                   "PASS" if ok else "MISS")])
    if bad:
        report.note(f"{len(bad)} preview requests failed, e.g. {bad[0]}")
    report.check("POST /preview miss p50", fmt_s(p50), "≤ 50 ms", ok)


def _overhead(service: list[float], engine: list[float]) -> float:
    """Median of the paired differences: what the service adds to the engine's own time."""
    return median([s - e for s, e in zip(service, engine, strict=True)])


def bench_jobs(report: Report, port: int, repeats: int) -> str | None:
    """30 s WAV jobs from POST to complete; returns the id of a complete job."""
    from engine.render import render
    from engine.spec import RenderSpec
    from engine.synth.tonecache import ToneCache

    tones = ToneCache(worker_tone_cache_bytes())  # as a worker's
    progress("service: 30 s WAV jobs, submit -> complete")
    count = max(6, repeats * 2)
    times, engine, done_id, bad = [], [], None, []
    for i in range(count + 1):
        body = {"params": {**GEOMETRY, "psi": round(1.0 + 0.0007 * i, 6)},
                "duration_seconds": 30, "format": "wav"}
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            t0 = time.perf_counter()
            r = _post_json(port, "/api/v1/generate", body, conn=conn)
            if r.status not in (200, 201, 202):
                bad.append(f"POST {r.status} {r.body[:120]!r}")
                continue
            job_id = json.loads(r.body)["job_id"]
            status = json.loads(r.body).get("status")
            deadline = t0 + 60.0
            while status not in ("complete", "failed") and time.perf_counter() < deadline:
                time.sleep(0.003)
                g = request(port, "GET", f"/api/v1/jobs/{job_id}", conn=conn)
                status = json.loads(g.body).get("status") if g.status == 200 else f"HTTP {g.status}"
            elapsed = time.perf_counter() - t0
        finally:
            conn.close()
        if status != "complete":
            bad.append(f"job ended as {status}")
            continue
        done_id = job_id
        if i > 0:  # the first job warms the pool and the engine imports of one worker
            times.append(elapsed)
            spec = RenderSpec(**body["params"], duration_seconds=30.0, format="wav")
            engine.append(time_call(lambda spec=spec: render(spec, tones=tones)))
    if not times:
        report.skip("30 s WAV job", f"no job completed: {bad[:2]}")
        return done_id
    p50 = median(times)
    ok = p50 < JOB_BUDGET_S
    report.table(["request", "n", "p50", "p90", "max", "engine alone (paired, in process, own tone cache)",
                  "service overhead (median of pairs)", "budget < 0.5 s"],
                 [("30 s WAV: POST /generate → complete (poll 3 ms)", len(times), fmt_s(p50),
                   fmt_s(percentile(times, 90)), fmt_s(max(times)), fmt_s(median(engine)),
                   fmt_s(_overhead(times, engine)), "PASS" if ok else "MISS")])
    if bad:
        report.note(f"{len(bad)} jobs failed, e.g. {bad[0]}")
    report.check("30 s WAV job p50", fmt_s(p50), "< 0.5 s", ok)
    return done_id


# --------------------------------------------------------------------------- wrk vs peers

_NGINX_CONF = """\
worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ audio/wav wav; }}
    access_log {tmp}/nginx-access.log;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location / {{ }}
    }}
}}
"""


def _alternate(rounds: int, urls: dict[str, str]) -> dict[str, list]:
    out: dict[str, list] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            out[name].append(run_wrk(url, seconds=WRK_SECONDS))
    return out


def bench_download(report: Report, port: int, job_id: str, rounds: int, tmp: Path) -> None:
    if not shutil.which("nginx") or not shutil.which("wrk"):
        report.skip("download vs nginx", "nginx or wrk missing (make sysdeps-bench)")
        return
    path = f"/api/v1/jobs/{job_id}/download"
    r = request(port, "GET", path)
    if r.status != 200:
        report.skip("download vs nginx", f"download answered {r.status}")
        return
    ngx = tmp / "nginx"
    (ngx / "www").mkdir(parents=True)
    (ngx / "www" / "file.wav").write_bytes(r.body)
    for p in (tmp, ngx, ngx / "www"):
        p.chmod(0o755)  # nginx workers may run as an unprivileged user
    (ngx / "www" / "file.wav").chmod(0o644)
    nport = free_port()
    (ngx / "nginx.conf").write_text(_NGINX_CONF.format(tmp=ngx, port=nport))
    argv = ["nginx", "-c", str(ngx / "nginx.conf"), "-p", str(ngx), "-e", str(ngx / "nginx-error.log")]
    progress("service: cached download, ours vs nginx (wrk)")
    res = _versus_peer(report, "download vs nginx", argv, log=tmp / "nginx.out", port=nport, path="/file.wav",
                       error_log=ngx / "nginx-error.log", timeout=15,
                       measure=lambda _peer: _alternate(rounds, {
                           "ours": f"http://127.0.0.1:{port}{path}", "nginx": f"http://127.0.0.1:{nport}/file.wav"}))
    if res is None:
        return
    ours, peer = (median([x.rps for x in res[k]]) for k in ("ours", "nginx"))
    ours_mb, peer_mb = (median([x.mib_s for x in res[k]]) for k in ("ours", "nginx"))
    bad = {k: sum(x.bad for x in v) for k, v in res.items()}
    ratio = ours / peer if peer else 0.0
    ok = ratio >= DOWNLOAD_BUDGET and not bad["ours"]
    report.table(["cached 30 s WAV download", "file", "ours req/s", "ours MiB/s", "nginx req/s",
                  "nginx MiB/s", "ratio ours/nginx", "budget ≥ 0.5"],
                 [(f"wrk -t2 -c16 -d{WRK_SECONDS:g}s × {rounds}", f"{len(r.body) / 1e6:.2f} MB",
                   f"{ours:.0f}", f"{ours_mb:.0f}", f"{peer:.0f}", f"{peer_mb:.0f}",
                   f"{ratio:.2f}", "PASS" if ok else "MISS")])
    if any(bad.values()):
        report.note(f"non-2xx/3xx or socket errors during wrk: {bad}")
    report.check("download ours/nginx", f"{ratio:.2f}", "≥ 0.5", ok)


def _versus_peer(report: Report, label: str, argv: list[str], *, log: Path, port: int, path: str,
                 error_log: Path, measure: Callable[[subprocess.Popen], T], timeout: float = 40.0,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> T | None:
    """Start a peer server, wait until it answers `path`, then `measure(peer process)`.

    Returns what `measure` returns, or None (reported as skipped) if the peer never came up.
    """
    with spawned(argv, log=log, env=env, cwd=cwd) as proc:
        try:
            wait_http(port, path, proc, timeout=timeout)
        except RuntimeError as err:
            report.skip(label, f"{err} {log_tail(error_log)}")
            return None
        return measure(proc)


def _paired_rounds(servers: dict[str, tuple[str, int]]) -> dict[str, list[tuple[WrkResult, float]]]:
    """JOBS_GET_ROUNDS alternating wrk rounds against {name: (url, server process group)}:
    per name, each round's wrk result and the CPU seconds its server used meanwhile."""
    res: dict[str, list[tuple[WrkResult, float]]] = {name: [] for name in servers}
    for _ in range(JOBS_GET_ROUNDS):
        for name, (url, pgid) in servers.items():
            cpu = group_cpu_seconds(pgid)
            run = run_wrk(url, connections=JOBS_GET_CONNECTIONS, seconds=JOBS_GET_SECONDS)
            res[name].append((run, group_cpu_seconds(pgid) - cpu))
    return res


def bench_jobs_get(report: Report, port: int, server_pgid: int, job_id: str, tmp: Path) -> None:
    """GET /jobs/{id} vs a bare Flask endpoint: paired wrk rounds, and server CPU per request."""
    if not shutil.which("wrk"):
        report.skip("GET /jobs vs bare Flask", "wrk missing (make sysdeps-bench)")
        return
    bport = free_port()
    argv = [_gunicorn(), "--config", str(GUNICORN_CONF), "bench.bare_app:app"]
    path = f"/api/v1/jobs/{job_id}"
    progress("service: GET /jobs/{id}, ours vs bare Flask (wrk)")
    res = _versus_peer(
        report, "GET /jobs vs bare Flask", argv, log=tmp / "bare.log", port=bport, path=path,
        error_log=tmp / "bare.log", env=_env(bport, tmp / "bare-cache"), cwd=ROOT,
        measure=lambda peer: _paired_rounds({"ours": (f"http://127.0.0.1:{port}{path}", server_pgid),
                                             "bare": (f"http://127.0.0.1:{bport}{path}", peer.pid)}))
    if res is None:
        return
    ratios = [o.rps / b.rps for (o, _), (b, _) in zip(res["ours"], res["bare"], strict=True) if b.rps]
    ratio = median(ratios) if ratios else 0.0
    rps = {k: median([r.rps for r, _ in v]) for k, v in res.items()}
    cpu_us = {k: median([c / r.requests * 1e6 for r, c in v if r.requests]) for k, v in res.items()}
    bad = {k: sum(r.bad for r, _ in v) for k, v in res.items()}
    ok = ratio >= JOBS_GET_BUDGET and not bad["ours"]
    report.table(["GET /api/v1/jobs/{id}", "ours req/s", "bare Flask req/s",
                  "ratio ours/bare (median of pairs)", "pair ratios min–max",
                  "server CPU per request ours / bare", "budget ≥ 0.8"],
                 [(f"wrk -t2 -c{JOBS_GET_CONNECTIONS} -d{JOBS_GET_SECONDS:g}s × {JOBS_GET_ROUNDS} pairs",
                   f"{rps['ours']:.0f}", f"{rps['bare']:.0f}", f"{ratio:.2f}",
                   f"{min(ratios):.2f}–{max(ratios):.2f}" if ratios else "-",
                   f"{cpu_us['ours']:.0f} µs / {cpu_us['bare']:.0f} µs", "PASS" if ok else "MISS")])
    report.note("Server CPU per request is the gunicorn process group's user + system time over "
                "the round divided by the requests wrk counted: the steadier figure on a shared "
                "machine; gunicorn's gthread worker itself takes most of it.")
    if any(bad.values()):
        report.note(f"non-2xx/3xx or socket errors during wrk: {bad}")
    report.check("GET /jobs ours/bare Flask", f"{ratio:.2f}", "≥ 0.8", ok)


# --------------------------------------------------------------------------- entry

def run(report: Report, repeats: int) -> None:
    report.heading("Service: gunicorn, each figure beside a peer")
    missing = [p.name for p in (GUNICORN_CONF, ROOT / "wsgi.py") if not p.exists()]
    if missing:
        report.skip("service", f"{', '.join(missing)} not there yet")
        return
    rounds = 3 if repeats >= 3 else 2
    with tempfile.TemporaryDirectory(prefix="resonant-svc-") as d:
        tmp = Path(d)
        port = free_port()
        env = _env(port, tmp / "cache")
        report.note(f"gunicorn `--config app/gunicorn_conf.py` with WEB_CONCURRENCY={WORKERS}: "
                    f"{gunicorn_settings(env)}; cache in a fresh temp dir; rate limit off; all on "
                    "127.0.0.1.")
        argv = [_gunicorn(), "--config", str(GUNICORN_CONF), "wsgi:app"]
        with spawned(argv, log=tmp / "gunicorn.log", env=env, cwd=ROOT) as proc:
            try:
                wait_http(port, "/api/v1/healthz", proc)
            except RuntimeError as err:
                report.skip("service", f"gunicorn: {err}\n\n```\n{log_tail(tmp / 'gunicorn.log')}\n```")
                return
            _guard(report, "POST /preview", lambda: bench_preview(report, port, repeats))
            job_id = _guard(report, "30 s WAV job", lambda: bench_jobs(report, port, repeats))
            if job_id is None:
                report.skip("download and GET /jobs", "no complete job to use")
                return
            _guard(report, "download vs nginx",
                   lambda: bench_download(report, port, job_id, rounds, tmp))
            _guard(report, "GET /jobs vs bare Flask",
                   lambda: bench_jobs_get(report, port, proc.pid, job_id, tmp))
        report.note(f"wrk and the servers share this machine's cores; downloads: medians of "
                    f"{rounds} alternating {WRK_SECONDS:g} s rounds.")


def _guard(report: Report, name: str, step):
    """Run one measurement; on an exception report it as skipped and go on."""
    try:
        return step()
    except Exception as err:  # noqa: BLE001 - a benchmark reports, it does not crash
        report.skip(name, f"{type(err).__name__}: {err}")
        return None
