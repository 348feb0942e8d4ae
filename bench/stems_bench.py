"""Stems benchmark: render time and peak RSS of `format: "stems"` next to a WAV of the same spec.

Each render runs in a fresh interpreter (started by engine_bench's small launcher, which reads
`getrusage(RUSAGE_CHILDREN).ru_maxrss`), through `engine.render.render_to_file` as the service
calls it: the stems ZIP is written to disk as it is rendered; the WAV (the peer) is rendered to
bytes and written. 30 s and 300 s, WAV and stems interleaved; medians of the repeats. Budget
(issue 9): a 300 s stems job peaks below 400 MB RSS.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

from bench.common import ROOT, Report, median, progress
from bench.engine_bench import _LAUNCHER

RSS_BUDGET_MB = 400.0
DURATIONS = (30.0, 300.0)
#: A locked, busy piece in a style with many voices (drums, bass, harmony, melody, pad, counter,
#: timpani): the most stems a style makes.
GEOMETRY = {"n": 24, "k": 10, "omega": 1.0, "xi": 1.0, "psi": 0.0, "lock_psi_tau": True}
STYLE = "epic"

_CHILD = textwrap.dedent("""
    import json, os, sys, time
    from engine.render import render_to_file
    from engine.spec import RenderSpec
    geometry, duration, fmt, style, folder = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3], \\
        sys.argv[4], sys.argv[5]
    spec = RenderSpec(**geometry, tempo=120.0, duration_seconds=duration, format=fmt, style=style)
    path = os.path.join(folder, f"{fmt}-{duration:g}.{spec.extension}")
    t0 = time.perf_counter()
    size = render_to_file(spec, path)
    t1 = time.perf_counter()
    os.unlink(path)
    hwm = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    print(json.dumps({"bytes": size, "render_s": t1 - t0, "vmhwm_kib": hwm}))
""")


def _child(fmt: str, duration: float, folder: str) -> dict:
    """One render in a fresh interpreter: its report plus `rss_mb` (peak RSS, MB)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, _CHILD, json.dumps(GEOMETRY), str(duration), fmt,
                           STYLE, folder], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-500:])
    info = json.loads(proc.stdout)
    info["rss_mb"] = info["children_maxrss_kib"] / 1024.0
    return info


def run(report: Report, repeats: int) -> None:
    report.heading("Stems: render time and peak RSS vs a WAV of the same spec")
    rows = []
    with tempfile.TemporaryDirectory(prefix="resonant-stems-bench-") as folder:
        for duration in DURATIONS:
            runs: dict[str, list[dict]] = {"wav": [], "stems": []}
            for i in range(max(1, repeats if duration < 100 else min(repeats, 3))):
                for fmt in ("wav", "stems"):
                    progress(f"stems: {fmt} {duration:g} s, run {i + 1}")
                    try:
                        runs[fmt].append(_child(fmt, duration, folder))
                    except Exception as err:  # noqa: BLE001 - benchmarks report; they never fail
                        report.skip(f"stems {duration:g} s", str(err)[-300:])
                        return
            t = {fmt: median([r["render_s"] for r in rs]) for fmt, rs in runs.items()}
            rss = {fmt: max(r["rss_mb"] for r in rs) for fmt, rs in runs.items()}
            size = {fmt: rs[0]["bytes"] for fmt, rs in runs.items()}
            ok = rss["stems"] < RSS_BUDGET_MB if duration >= 300 else None
            rows.append((f"{duration:g} s", f"{t['wav']:.2f} s", f"{t['stems']:.2f} s",
                         f"{t['stems'] / t['wav']:.2f}", f"{rss['wav']:.0f} MB", f"{rss['stems']:.0f} MB",
                         f"{rss['stems'] / rss['wav']:.2f}", f"{size['wav'] / 1e6:.1f} / {size['stems'] / 1e6:.1f} MB",
                         "" if ok is None else ("PASS" if ok else "MISS")))
            if ok is not None:
                report.check(f"stems {duration:g} s peak RSS", f"{rss['stems']:.0f} MB",
                             f"< {RSS_BUDGET_MB:.0f} MB", ok)
    report.table(["duration", "WAV time", "stems time", "time ratio", "WAV peak RSS", "stems peak RSS",
                  "RSS ratio", "size WAV / ZIP", f"< {RSS_BUDGET_MB:.0f} MB"], rows)
    report.note(f"Spec: {json.dumps(GEOMETRY)}, style `{STYLE}`, 120 BPM. Each render is a fresh "
                "`python -c` child (imports not timed; peak RSS includes them) through "
                "`engine.render.render_to_file`; times are medians, RSS the largest of the runs. The stems "
                "render mixes the piece twice (once to master the summed bus, once to write the stems), "
                "with one reverb per stem, and holds one full-length float32 bus during the first pass.")

