"""Shared helpers of the benchmarks: timing, the report, processes, ports, HTTP and wrk.

Benchmarks may read the clock (the engine never does). Every figure is a median of repeated
runs, and every budget is checked as a ratio against a peer measured side by side in the same
run, because the machines are shared and noisy.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker_tone_cache_bytes() -> int:
    """The tone cache a service worker keeps (RESONANT_TONE_CACHE_MB, as app.config reads it),
    so in-process peers render the way a worker does."""
    from app.config import Config

    return int(Config.RESONANT_TONE_CACHE_MB) * 1024**2
RESULTS_DIR = ROOT / "bench" / "results"


# --------------------------------------------------------------------------- timing

def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile q (0..100) of a non-empty sequence."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def time_call(fn: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def time_cmd(argv: Sequence[str], *, cwd: str | Path | None = None) -> float:
    """Wall seconds of one subprocess run (start-up included); raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(list(argv), cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace")[-400:]
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {tail}")
    return elapsed


def time_call_cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def time_cmd_cpu(argv: Sequence[str]) -> tuple[float, float]:
    """(wall seconds, user+sys CPU seconds of the child from wait4) of one subprocess run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}")
    return elapsed, usage.ru_utime + usage.ru_stime


def interleaved(cases: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run every case once per round, `repeats` rounds, so drifting load hits all cases alike.

    Each callable returns the seconds it measured (e.g. `lambda: time_call(f)`).
    """
    out: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            out[name].append(fn())
    return out


def fmt_s(seconds: float) -> str:
    """Seconds as a short human string (µs / ms / s)."""
    size = abs(seconds)
    if size < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if size < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def progress(msg: str) -> None:
    """A progress line on stderr (the report itself goes to stdout)."""
    print(f"  .. {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- report

@dataclass
class Check:
    """One budget: the measured figure, the budget in words, and whether it holds."""

    section: str
    name: str
    figure: str
    budget: str
    ok: bool | None  # None: could not be measured


@dataclass
class Report:
    """Markdown printed as it is produced, collected for the results file and the summary."""

    lines: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    section: str = ""

    def emit(self, text: str = "") -> None:
        self.lines.append(text)
        print(text, flush=True)

    def heading(self, text: str, level: int = 2) -> None:
        self.section = text
        self.emit()
        self.emit("#" * level + " " + text)
        self.emit()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.emit("| " + " | ".join(headers) + " |")
        self.emit("|" + "|".join("---" for _ in headers) + "|")
        for row in rows:
            self.emit("| " + " | ".join(str(c) for c in row) + " |")
        self.emit()

    def note(self, text: str) -> None:
        self.emit(text)
        self.emit()

    def check(self, name: str, figure: str, budget: str, ok: bool | None) -> None:
        self.checks.append(Check(self.section, name, figure, budget, ok))

    def skip(self, what: str, reason: str) -> None:
        self.note(f"**SKIPPED** {what}: {reason}")
        self.check(what, "not measured", reason, None)

    def summary(self) -> None:
        if not self.checks:
            return
        self.heading("Summary: budgets")
        rows = [(c.section, c.name, c.figure, c.budget, verdict(c.ok)) for c in self.checks]
        self.table(["section", "budget", "measured", "limit", "verdict"], rows)

    def save(self, path: Path | None = None) -> Path:
        if path is None:
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / "latest.md"
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path


def verdict(ok: bool | None) -> str:
    return {True: "PASS", False: "**MISS**", None: "n/a"}[ok]


# --------------------------------------------------------------------------- machine

def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _tool_version(argv: Sequence[str]) -> str:
    if not shutil.which(argv[0]):
        return "missing"
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (proc.stdout + proc.stderr).strip().splitlines()
    first = text[0] if text else "?"
    m = re.search(r"\d+\.\d+(\.\d+)?", first)
    return m.group(0) if m else first[:40]


def machine_line() -> str:
    """CPU model, cores, load, python/numpy and peer versions, date: one line for the tables."""
    import numpy

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    peers = ", ".join(f"{name} {_tool_version(argv)}" for name, argv in (
        ("fluidsynth", ["fluidsynth", "--version"]), ("lame", ["lame", "--version"]),
        ("nginx", ["nginx", "-v"]), ("wrk", ["wrk", "-v"])))
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{date} · {_cpu_model()} · {cores} cores · load {load} · "
            f"Python {platform.python_version()} · numpy {numpy.__version__} · {peers}")


# --------------------------------------------------------------------------- processes

def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def spawned(argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None,
            cwd: str | Path | None = None) -> Iterator[subprocess.Popen]:
    """Start a server in its own process group; always stop the whole group afterwards."""
    with open(log, "wb") as fh:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of `proc`, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group (e.g. workers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system, seconds) used so far by the live processes of process group
    `pgid` (a server started by `spawned`: its master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / tick


def log_tail(path: Path, chars: int = 1500) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:]
    return ""


# --------------------------------------------------------------------------- HTTP

@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def request(port: int, method: str, path: str, *, body: bytes | None = None,
         headers: dict[str, str] | None = None, conn: HTTPConnection | None = None,
         timeout: float = 60.0) -> Response:
    """One request to 127.0.0.1:port (on `conn` if given, keeping it alive)."""
    own = conn is None
    c = conn or HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        if own:
            c.close()


def wait_http(port: int, path: str, proc: subprocess.Popen, *, timeout: float = 40.0) -> None:
    """Poll until `path` answers 2xx/3xx/4xx; raise if the server died or never came up."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering")
        try:
            if request(port, "GET", path, timeout=2.0).status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {path} within {timeout:.0f} s")


# --------------------------------------------------------------------------- wrk

_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass
class WrkResult:
    rps: float
    bytes_per_s: float
    requests: int
    bad: int  # non-2xx/3xx responses plus socket errors

    @property
    def mib_s(self) -> float:
        return self.bytes_per_s / 1024**2


def run_wrk(url: str, *, threads: int = 2, connections: int = 16, seconds: float = 4.0) -> WrkResult:
    """Run wrk against `url` and parse requests/s, transfer/s and errors."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", url]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    out = proc.stdout
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-300:]}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)([KMGT]?B)", out)
    bps = float(m.group(1)) * _UNITS[m.group(2)] if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    requests = int(m.group(1)) if m else 0
    bad = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        bad += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        bad += sum(int(g) for g in m.groups())
    return WrkResult(rps, bps, requests, bad)
