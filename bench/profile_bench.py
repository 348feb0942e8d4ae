"""`python -m bench profile`: where the time goes on the hot paths (cProfile, top lines).

Not part of `all`: run it when a budget is missed. Profiles a 30 s WAV render, a 5 s preview
render, and `GET /api/v1/jobs/{id}` through the Flask test client beside the bare Flask peer.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import tempfile
import time

from bench.common import Report, progress

TOP = 18
GEOMETRY = {"n": 24, "k": 10, "omega": 1.0, "xi": 1.0, "psi": 0.0, "lock_psi_tau": True}


def _top(prof: cProfile.Profile, restrict: str, sort: str = "cumtime") -> str:
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats(sort).print_stats(restrict, TOP)
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(line.replace("/work/main/", "") for line in lines[start:] if line.strip())


def _profile(report: Report, title: str, fn, restrict: str = "engine/|app/") -> None:
    fn()  # warm-up
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(fn)
    elapsed = time.perf_counter() - t0
    report.note(f"**{title}** ({elapsed * 1e3:.0f} ms under the profiler), top by cumulative time:")
    report.emit("```")
    report.emit(_top(prof, restrict))
    report.emit("```")
    report.emit()


def run(report: Report) -> None:
    report.heading("Profiles of the hot paths")
    from engine.render import render
    from engine.spec import RenderSpec

    for duration in (30.0, 5.0):
        progress(f"profile: render {duration:g} s WAV")
        spec = RenderSpec(**GEOMETRY, duration_seconds=duration, format="wav")
        _profile(report, f"render({duration:g} s WAV)", lambda spec=spec: render(spec))
    try:
        from app import create_app
    except ImportError as err:
        report.note(f"app not importable: {err}")
        return
    from bench.bare_app import app as bare

    progress("profile: GET /api/v1/jobs/{id} via the test client")
    with tempfile.TemporaryDirectory(prefix="resonant-prof-") as d:
        client = create_app({"RESONANT_CACHE_DIR": d}).test_client()
        job = client.post("/api/v1/generate", json={"params": GEOMETRY, "duration_seconds": 5})
        job_id = job.get_json()["job_id"]
        deadline = time.perf_counter() + 60
        while (client.get(f"/api/v1/jobs/{job_id}").get_json()["status"] != "complete"
               and time.perf_counter() < deadline):
            time.sleep(0.01)
        url = f"/api/v1/jobs/{job_id}"
        count = 1000
        per = {}
        for name, c in (("ours", client), ("bare", bare.test_client())):
            t0 = time.perf_counter()
            for _ in range(count):
                c.get(url)
            per[name] = (time.perf_counter() - t0) / count
        report.note(f"GET /api/v1/jobs/{{id}} in process (Flask test client, {count} requests): "
                    f"ours {per['ours'] * 1e6:.0f} µs, bare Flask {per['bare'] * 1e6:.0f} µs, "
                    f"ratio of rates {per['bare'] / per['ours']:.2f}.")

        def many() -> None:
            for _ in range(200):
                client.get(url)

        _profile(report, "200 × GET /api/v1/jobs/{id}", many,
                 restrict="app/|engine/|flask_smorest|marshmallow/schema|dataclasses")
