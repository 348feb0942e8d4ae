"""`python -m bench [PART ...] [--repeats N] [--quick] [--out FILE]`.

PART: all (default), engine (= wav mp3 rss), wav, mp3, rss, loop, stems, styles, service, prompt; and profile
(cProfile of the hot paths, not part of all). Prints markdown
tables with PASS / MISS against DESIGN.md §6 and a summary; also writes them to
bench/results/latest.md (or --out). Exit status 0 whatever the verdicts.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from bench import (
    engine_bench,
    loop_bench,
    profile_bench,
    prompt_bench,
    service_bench,
    stems_bench,
    style_bench,
)
from bench.common import Report, machine_line

PARTS = ("wav", "mp3", "rss", "loop", "stems", "styles", "prompt", "service")
EXTRA = ("profile",)
ALIASES = {"all": set(PARTS), "engine": {"wav", "mp3", "rss"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=None,
                        metavar="PART",
                        help="all (default), engine, wav, mp3, rss, loop, stems, styles, prompt, service, profile")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed runs per case; medians are reported (default 5)")
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 5")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown results file (default bench/results/latest.md)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else max(1, args.repeats)
    parts: set[str] = set()
    known = set(PARTS) | set(EXTRA) | set(ALIASES)
    for p in args.parts or ["all"]:
        if p not in known:
            parser.error(f"unknown part {p!r}; choose from {', '.join(sorted(known))}")
        parts |= ALIASES.get(p, {p})

    report = Report()
    t0 = time.perf_counter()
    report.heading("Resonant benchmarks", level=1)
    report.note(f"Machine: {machine_line()}")
    report.note(f"Parts: {', '.join(p for p in PARTS + EXTRA if p in parts)} · {repeats} repeats · "
                "medians · ratios against peers measured in the same run.")
    try:
        if parts & {"wav", "mp3", "rss"}:
            engine_bench.run(report, repeats, parts)
        if "stems" in parts:
            stems_bench.run(report, repeats)
        if "loop" in parts:
            loop_bench.run(report, repeats)
        if "styles" in parts:
            style_bench.run(report, repeats)
        if "prompt" in parts:
            prompt_bench.run(report, repeats)
        if "service" in parts:
            service_bench.run(report, repeats)
        if "profile" in parts:
            profile_bench.run(report)
    except KeyboardInterrupt:
        report.note("**Interrupted.**")
    except Exception:  # noqa: BLE001 - benchmarks report; they never fail the build
        report.note("**Bench crashed:**\n\n```\n" + traceback.format_exc() + "```")
    report.summary()
    report.note(f"Total bench time {time.perf_counter() - t0:.0f} s.")
    path = report.save(args.out)
    print(f"(results written to {path})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
