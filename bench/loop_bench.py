"""Loop render cost: a 30 s `loop: true` WAV against the normal render of the same request.

A loop is mixed LOOP_TAIL (4 s) past its end, folded, measured for loudness in a second pass and
mastered with a limiter that looks across the join; this reports what that costs, per bench spec
(engine_bench.SPECS), in process, medians of `repeats` renders each. No budget in DESIGN.md: the
issue asks for the figure.
"""
from __future__ import annotations

import time

from bench.common import Report, fmt_s, median, progress
from bench.engine_bench import SPECS


def run(report: Report, repeats: int) -> None:
    from engine.render import render
    from engine.spec import RenderSpec

    report.heading("Loops: render cost of `loop: true` vs a normal render (30 s WAV)")
    rows, ratios = [], []
    for label, geometry, tempo in SPECS:
        progress(f"loop: {label}")
        normal = RenderSpec(**geometry, tempo=tempo, duration_seconds=30.0, format="wav")
        looped = normal.with_(loop=True)
        times = {}
        for name, spec in (("normal", normal), ("loop", looped)):
            render(spec)  # warm: imports, reverb spectra, tone caches
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                render(spec)
                runs.append(time.perf_counter() - t0)
            times[name] = median(runs)
        ratio = times["loop"] / times["normal"]
        ratios.append(ratio)
        rows.append((label, f"{looped.duration_seconds:g} s", fmt_s(times["normal"]), fmt_s(times["loop"]),
                     f"{ratio:.2f}x"))
    report.table(["spec", "loop length", "normal", "loop", "loop / normal"], rows)
    report.note(f"Median loop / normal: {median(ratios):.2f}x (the loop mixes 4 s more, then measures "
                "loudness in a second pass).")
