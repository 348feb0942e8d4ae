"""`make load` / `python -m bench.load [--seconds 60] [--clients 16] [--workers 2] [--hosts 2] [--redis]`.

Mixed traffic at saturation against a fresh gunicorn on loopback (`app/gunicorn_conf.py`,
`wsgi:app`, a temporary cache): keep-alive clients submit new and repeated short jobs, poll
them, download finished ones, ask for previews (mostly cached, some new), presets and health.
Reports throughput, p50/p99 latency and error counts per endpoint, and the RSS of every
gunicorn worker sampled over the run (growth after warm-up must stay under 10 %).

Expected answers: 2xx (and 503 *with* Retry-After: back-pressure at saturation). Anything
else, a 503 without Retry-After, or a broken connection is an unexpected error; the exit
status is 1 only then. Environment: RESONANT_LOAD_SECONDS, RESONANT_LOAD_CLIENTS,
WEB_CONCURRENCY (workers), RESONANT_POOL_SIZE, RESONANT_THREADS. `--hosts N` starts a
redis-server and N gunicorns on it (RESONANT_REDIS_URL), the clients split among them, the RSS
of the first host sampled; `--redis` uses the Redis job store with one host.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

from bench.common import (
    ROOT,
    free_port,
    log_tail,
    percentile,
    request,
    spawned,
    wait_http,
)

API = "/api/v1"
JSON = {"Content-Type": "application/json"}
WARMUP_FRACTION = 0.2  #: RSS growth is measured from this point of the run (by requests)
RSS_BUDGET = 0.10  #: at most 10 % growth after warm-up
PRESET_IDS = ("calm", "tense", "jazzy", "epic", "dreamy", "dark")


# ------------------------------------------------------------------------------ bookkeeping
@dataclass
class Endpoint:
    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    backpressure: int = 0  # 503 with Retry-After
    unexpected: int = 0


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.endpoints: dict[str, Endpoint] = collections.defaultdict(Endpoint)
        self.examples: list[str] = []
        self.total = 0

    def record(self, name: str, seconds: float, status: int | None, ok: bool, backpressure: bool,
               note: str = "") -> None:
        with self.lock:
            ep = self.endpoints[name]
            ep.latencies.append(seconds)
            ep.statuses[status if status is not None else "conn"] += 1
            self.total += 1
            if backpressure:
                ep.backpressure += 1
            elif not ok:
                ep.unexpected += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{name}: {status} {note}"[:300])


# ------------------------------------------------------------------------------ processes
def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
    return sorted(pids)


def rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


class RssSampler(threading.Thread):
    """Samples (requests so far, {pid: RSS KiB}) every `interval` seconds."""

    def __init__(self, master: int, stats: Stats, interval: float = 0.5):
        super().__init__(daemon=True)
        self.master, self.stats, self.interval = master, stats, interval
        self.samples: list[tuple[int, dict[int, int]]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            sample = {pid: rss for pid in worker_pids(self.master) if (rss := rss_kib(pid))}
            self.samples.append((self.stats.total, sample))
            self.stop.wait(self.interval)


# ------------------------------------------------------------------------------ traffic
class Client(threading.Thread):
    """One keep-alive connection issuing a weighted mix of requests until the deadline."""

    MIX = (("generate_new", 3), ("generate_repeat", 12), ("poll", 30), ("download", 16),
           ("preview_cached", 10), ("preview_new", 1), ("presets", 12), ("preset", 8), ("healthz", 6))

    def __init__(self, port: int, stats: Stats, shared: dict, deadline: float, seed: int):
        super().__init__(daemon=True)
        self.port, self.stats, self.shared, self.deadline = port, stats, shared, deadline
        self.rng = random.Random(seed)
        self.conn: HTTPConnection | None = None
        self.used, self.reconnect_after = 0, self.rng.randint(10, 40)
        names, weights = zip(*self.MIX, strict=True)
        self.names, self.weights = names, weights

    def call(self, name: str, method: str, path: str, body: dict | None = None,
             ok: tuple[int, ...] = (200,)) -> tuple[int | None, dict, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        status, headers, payload, note = None, {}, b"", ""
        try:
            if self.conn is None:
                self.conn = HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request(method, path, body=data, headers=JSON if data else {})
            response = self.conn.getresponse()
            payload = response.read()
            status, headers = response.status, {k.lower(): v for k, v in response.getheaders()}
            self.used += 1
            if response.will_close or self.used >= self.reconnect_after:
                # a new connection now and then, so gunicorn spreads clients over its workers
                self.conn.close()
                self.conn, self.used = None, 0
                self.reconnect_after = self.rng.randint(10, 40)
        except OSError as exc:
            note = f"{type(exc).__name__}: {exc}"
            if self.conn is not None:
                self.conn.close()
            self.conn = None
        elapsed = time.perf_counter() - started
        backpressure = status == 503 and headers.get("retry-after", "").isdigit()
        if status is not None and status not in ok and not note:
            note = payload[:200].decode(errors="replace")
        self.stats.record(name, elapsed, status, status in ok, backpressure, note)
        return status, headers, payload

    def body(self, index: int) -> dict:
        fmt = ("midi", "mp3", "wav", "midi")[index % 4]
        return {"params": {"n": 12 + index % 180, "k": 1 + index % 5, "omega": (index % 7) - 3.0},
                "duration_seconds": 1 + index % 3 // 2, "format": fmt}

    def run(self) -> None:
        shared, rng = self.shared, self.rng
        while time.monotonic() < self.deadline:
            action = rng.choices(self.names, self.weights)[0]
            if action in ("generate_new", "generate_repeat"):
                index = next(shared["counter"]) + 1000 if action == "generate_new" else rng.randrange(24)
                status, _, payload = self.call("POST /generate", "POST", f"{API}/generate",
                                               self.body(index), ok=(200, 202))
                if status in (200, 202):
                    job = json.loads(payload)
                    with shared["lock"]:
                        shared["jobs"][job["job_id"]] = job["status"]
            elif action == "poll" or action == "download":
                with shared["lock"]:
                    known = list(shared["jobs"].items())
                if not known:
                    continue
                if action == "download":
                    done = [job_id for job_id, st in known if st == "complete"]
                    if done:
                        self.call("GET /jobs/{id}/download", "GET", f"{API}/jobs/{rng.choice(done)}/download")
                        continue
                job_id = rng.choice(known)[0]
                status, _, payload = self.call("GET /jobs/{id}", "GET", f"{API}/jobs/{job_id}")
                if status == 200:
                    with shared["lock"]:
                        shared["jobs"][job_id] = json.loads(payload)["status"]
            elif action.startswith("preview"):
                index = rng.randrange(12) if action == "preview_cached" else next(shared["counter"]) + 10**6
                body = {"params": {"n": 24 + index % 400, "k": 5, "xi": 1.5}, "format": ("midi", "mp3", "wav")[index % 3]}
                self.call("POST /preview", "POST", f"{API}/preview", body)
            elif action == "presets":
                self.call("GET /presets", "GET", f"{API}/presets")
            elif action == "preset":
                self.call("GET /presets/{id}", "GET", f"{API}/presets/{rng.choice(shared['presets'])}")
            else:
                self.call("GET /healthz", "GET", f"{API}/healthz")
        if self.conn is not None:
            self.conn.close()


# ------------------------------------------------------------------------------ report
def rss_report(samples: list[tuple[int, dict[int, int]]], total: int) -> tuple[list[list[str]], bool | None]:
    """Per worker: RSS after warm-up, at the end, peak, growth. Verdict None if too few requests."""
    warm_at = int(total * WARMUP_FRACTION)
    warm = next((s for n, s in samples if n >= warm_at and s), None)
    end = next((s for n, s in reversed(samples) if s), None)
    rows, ok = [], True
    if not warm or not end:
        return rows, None
    for pid in sorted(set(warm) | set(end)):
        peak = max((s.get(pid, 0) for _, s in samples), default=0)
        if pid in warm and pid in end:
            growth = (end[pid] - warm[pid]) / warm[pid]
            ok = ok and growth < RSS_BUDGET
            rows.append([str(pid), f"{warm[pid] / 1024:.1f}", f"{end[pid] / 1024:.1f}",
                         f"{peak / 1024:.1f}", f"{growth * 100:+.1f} %"])
        else:
            rows.append([str(pid), "-", "-", f"{peak / 1024:.1f}", "worker replaced during the run"])
    if total - warm_at < 10_000:
        return rows, None
    return rows, ok


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def report(stats: Stats, elapsed: float, rss_rows: list, rss_ok: bool | None, settings: str) -> str:
    rows, unexpected, backpressure = [], 0, 0
    for name in sorted(stats.endpoints):
        ep = stats.endpoints[name]
        ms = [x * 1000 for x in ep.latencies]
        codes = " ".join(f"{code}×{n}" for code, n in sorted(ep.statuses.items(), key=lambda kv: str(kv[0])))
        rows.append([name, str(len(ms)), f"{len(ms) / elapsed:.1f}", f"{percentile(ms, 50):.1f}",
                     f"{percentile(ms, 99):.1f}", str(ep.backpressure), str(ep.unexpected), codes])
        unexpected += ep.unexpected
        backpressure += ep.backpressure
    rows.append(["all", str(stats.total), f"{stats.total / elapsed:.1f}", "", "", str(backpressure),
                 str(unexpected), ""])
    out = [f"Load: {settings}; {elapsed:.1f} s, {stats.total} requests, {stats.total / elapsed:.1f} req/s",
           "", table(["endpoint", "requests", "req/s", "p50 ms", "p99 ms", "503+Retry-After",
                      "unexpected", "statuses"], rows)]
    out += ["", ("Worker RSS (MiB), sampled every 0.5 s; growth from the end of warm-up "
            f"(first {WARMUP_FRACTION:.0%} of requests) to the end:"), "",
            table(["worker pid", "after warm-up", "end", "peak", "growth"], rss_rows) if rss_rows else "(no samples)"]
    verdict = {True: "PASS (< 10 % growth)", False: "MISS (>= 10 % growth)",
               None: "not judged (fewer than 10,000 requests after warm-up)"}[rss_ok]
    out += ["", f"RSS flat after warm-up: {verdict}",
            f"Unexpected errors: {unexpected}" + (" — e.g. " + "; ".join(stats.examples) if stats.examples else "")]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("RESONANT_LOAD_SECONDS", "60")))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("RESONANT_LOAD_CLIENTS", "16")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    parser.add_argument("--hosts", type=int, default=1,
                        help="gunicorn instances sharing one redis-server (clients split among them)")
    parser.add_argument("--redis", action="store_true", help="the Redis job store also with one host")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="resonant-load-") as tmp, contextlib.ExitStack() as stack:
        redis_url = ""
        if args.hosts > 1 or args.redis:
            redis_port = free_port()
            redis_proc = stack.enter_context(spawned(
                ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no",
                 "--bind", "127.0.0.1"], log=Path(tmp) / "redis.log"))
            time.sleep(0.3)
            if redis_proc.poll() is not None:
                print("redis-server did not start", file=sys.stderr)
                return 1
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
        ports, procs = [], []
        for host in range(args.hosts):
            port = free_port()
            env = {**os.environ, "RESONANT_BIND": f"127.0.0.1:{port}", "RESONANT_CACHE_DIR": f"{tmp}/cache{host}",
                   "WEB_CONCURRENCY": str(args.workers), "RESONANT_LOG_LEVEL": "warning",
                   "RESONANT_REDIS_URL": redis_url}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            argv_ = [str(Path(sys.executable).with_name("gunicorn")), "--config", "app/gunicorn_conf.py", "wsgi:app"]
            log = Path(tmp) / f"gunicorn{host}.log"
            proc = stack.enter_context(spawned(argv_, log=log, env=env, cwd=ROOT))
            try:
                wait_http(port, f"{API}/healthz", proc)
            except RuntimeError as exc:
                print(f"gunicorn did not start: {exc}\n{log_tail(log)}", file=sys.stderr)
                return 1
            ports.append(port)
            procs.append(proc)
        settings = (f"{args.hosts} host(s) ({'redis' if redis_url else 'filesystem'} job store), gunicorn "
                    f"{args.workers} workers × {os.environ.get('RESONANT_THREADS', '8')} threads each, "
                    f"pool {os.environ.get('RESONANT_POOL_SIZE', str(os.cpu_count()))}/worker, "
                    f"{args.clients} keep-alive clients, {os.cpu_count()} CPUs")
        stats = Stats()
        shared = {"lock": threading.Lock(), "jobs": {}, "counter": itertools.count(),
                  "presets": list(PRESET_IDS)}
        with contextlib.suppress(OSError, ValueError, KeyError):
            listed = request(ports[0], "GET", f"{API}/presets", timeout=30)
            shared["presets"] = [p["id"] for p in json.loads(listed.body)["presets"]]
        sampler = RssSampler(procs[0].pid, stats)
        sampler.start()
        started = time.monotonic()
        deadline = started + args.seconds
        clients = [Client(ports[seed % len(ports)], stats, shared, deadline, seed) for seed in range(args.clients)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        rss_rows, rss_ok = rss_report(sampler.samples, stats.total)
        text = report(stats, elapsed, rss_rows, rss_ok, settings)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    unexpected = sum(ep.unexpected for ep in stats.endpoints.values())
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
