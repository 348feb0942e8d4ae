"""Per-style render cost: one preset of each style, WAV 30 s marginal cost against FluidSynth
rendering our own MIDI of the same piece (issue 8 budget: <= 0.3x, aim 0.2x), and the melody
statistics of the presets against real melodies.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from bench.common import (
    Report,
    fmt_s,
    interleaved,
    median,
    progress,
    time_call,
    time_cmd,
)
from bench.engine_bench import SOUNDFONT, _fluidsynth_argv, _marginal_ratio

STYLE_BUDGET = 0.3  #: ours / fluidsynth marginal, every style
STYLE_AIM = 0.2


def _representatives() -> list[tuple[str, str]]:
    """(style id, preset id): the preset named like the style, else its first preset (else the
    style over the calm preset)."""
    from engine.presets import load_presets
    from engine.styles import style_catalog

    catalog = load_presets()
    first = {p.style: p.id for p in catalog if p.id == p.style}
    for preset in catalog:
        first.setdefault(preset.style, preset.id)
    return [(s.id, first.get(s.id, "calm")) for s in style_catalog()]


def bench_styles(report: Report, repeats: int) -> None:
    report.heading("Engine: every style, WAV 30 s vs FluidSynth (marginal cost)")
    if not shutil.which("fluidsynth") or not SOUNDFONT.exists():
        report.skip("styles vs FluidSynth", "fluidsynth or FluidR3_GM missing (make sysdeps-bench)")
        return
    from engine.presets import load_presets
    from engine.render import render
    from engine.resolve import resolve_request

    catalog = load_presets()
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "fs.wav"
        for style, preset in _representatives():
            progress(f"styles: {style}")
            specs = {d: resolve_request(catalog=catalog, preset=preset, style=style, duration_seconds=float(d))
                     for d in (1, 30)}
            mids = {}
            for d, spec in specs.items():
                mids[d] = tmp / f"{style}_{d}.mid"
                mids[d].write_bytes(render(spec.with_(format="midi")))
            render(specs[30])
            time_cmd(_fluidsynth_argv(mids[1], out))
            times = interleaved({
                "ours1": lambda s=specs[1]: time_call(lambda: render(s)),
                "ours30": lambda s=specs[30]: time_call(lambda: render(s)),
                "fs1": lambda m=mids[1]: time_cmd(_fluidsynth_argv(m, out)),
                "fs30": lambda m=mids[30]: time_cmd(_fluidsynth_argv(m, out)),
            }, repeats)
            m = {k: median(v) for k, v in times.items()}
            ratio = _marginal_ratio(m)
            ratios.append(ratio)
            verdict = "PASS" if ratio <= STYLE_BUDGET else "MISS"
            rows.append((style, preset, f"{specs[30].tempo:g}", fmt_s(m["ours30"]), fmt_s(m["fs30"]),
                         f"{30.0 / m['ours30']:.0f}x", f"{ratio:.3f} {verdict}"))
    report.table(["style", "preset", "BPM", "ours 30 s", "fluidsynth 30 s", "ours real-time",
                  "marginal ratio ours/fs"], rows)
    worst = max(ratios) if ratios else float("nan")
    report.check("WAV every style (worst)", f"{worst:.3f}", f"<= {STYLE_BUDGET} (aim {STYLE_AIM})",
                 worst <= STYLE_BUDGET)
    report.note(f"Medians of {repeats} interleaved runs; ratio = (ours 30 s - ours 1 s) / (fluidsynth "
                f"30 s - fluidsynth 1 s), no tone cache. {sum(r <= STYLE_AIM for r in ratios)} of "
                f"{len(ratios)} styles meet the {STYLE_AIM} aim.")


def bench_melody(report: Report) -> None:
    """Melody statistics over the presets (60 s), against the real-melody figures of issue 8."""
    report.heading("Melodies of the presets vs real melodies")
    from engine.compose import params_to_score
    from engine.presets import load_presets
    from engine.resolve import resolve_request

    catalog = load_presets()
    step, fourths, repeats, poly, span = [], [], [], [], []
    for preset in catalog:
        score = params_to_score(resolve_request(catalog=catalog, preset=preset.id, duration_seconds=60.0))
        mel = next(p for p in score.parts if p.name == "melody")
        moves = np.abs(np.diff([n.pitch for n in mel.notes]))
        step.append(np.mean((moves >= 1) & (moves <= 2)))
        fourths.append(np.mean((moves == 5) | (moves == 7)))
        repeats.append(np.mean(moves == 0))
        pitched = [n for p in score.parts if not p.is_drum for n in p.notes]
        edges = sorted([(n.start, 1) for n in pitched] + [(n.end, -1) for n in pitched])
        sounding, last, weighted, total = 0, 0.0, 0.0, 0.0
        for t, d in edges:
            if sounding:
                weighted += sounding * (t - last)
                total += t - last
            sounding, last = sounding + d, t
        poly.append(weighted / max(total, 1e-9))
        span.append(max(n.pitch for n in pitched) - min(n.pitch for n in pitched))
    rows = [("step rate (moves <= 2 semitones)", f"{np.mean(step):.2f}", "0.55-0.85", "0.53-0.86"),
            ("4ths/5ths", f"{np.mean(fourths):.2f}", "<= 0.20", "0.06-0.08"),
            ("repeated notes", f"{np.mean(repeats):.2f}", "0.05-0.20", "0.13"),
            ("notes sounding at once", f"{np.mean(poly):.1f}", "2.5-5", "2.9-3.9"),
            ("span of all parts (semitones)", f"{np.median(span):.0f} (median)", "<= ~45", "36-38")]
    report.table(["measure (mean over presets, 60 s)", "ours", "target (issue 8)", "real music"], rows)


def run(report: Report, repeats: int) -> None:
    bench_melody(report)
    bench_styles(report, max(1, min(repeats, 3)))
