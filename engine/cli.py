"""Command line: render offline and list presets and styles.

    python -m engine render [--preset ID] [--prompt TEXT] [--style ID] [--key KEY] [--variation V] [--loop] [--n N] [--k K] [--omega W]
        [--xi X] [--psi P] [--lock-psi-tau | --no-lock-psi-tau] [--tempo BPM] [--duration SECONDS]
        [--format wav|mp3|midi|stems] --output PATH
    python -m engine presets [--json]
    python -m engine styles [--json]

Explicit flags override what a preset or prompt chose. Errors print one line and exit 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from engine.errors import EngineError
from engine.presets import default_presets_path, load_presets
from engine.render import render_to_file
from engine.resolve import resolve_request
from engine.spec import FORMATS
from engine.styles import style_catalog

#: Renders of at least this many seconds of audio show a progress bar on a terminal.
PROGRESS_MIN_SECONDS = 10.0


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (no usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m engine", description="Resonant music engine")
    parser.add_argument("--presets-file", type=Path, default=None, help="presets YAML (default: presets.yaml)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    rend = commands.add_parser("render", help="render one piece to a file")
    rend.add_argument("--preset", help="preset id to start from")
    rend.add_argument("--prompt", help="text description to start from")
    rend.add_argument("--style", help="style id to play in (see `styles`); default: the prompt's or "
                      "preset's, else chosen from the geometry")
    rend.add_argument("--key", help='key by name, e.g. "D minor", "F#", "C# dorian" (overrides psi and xi\'s sign)')
    rend.add_argument("--variation", type=int, help="another take of the same request (0..2**31-1, default 0)")
    rend.add_argument("--loop", action="store_true", default=None,
                      help="a seamless loop: whole bars, no intro, fade or final cadence")
    rend.add_argument("--n", type=int, help="complexity: points on the circle (2..2000)")
    rend.add_argument("--k", type=int, help="texture: step (1..n/2)")
    rend.add_argument("--omega", type=float, help="movement: rotation speed (-10..10)")
    rend.add_argument("--xi", type=float, help="depth: vertical perturbation (-10..10)")
    rend.add_argument("--psi", type=float, help="phase in radians (0..2pi): sets the tonic")
    rend.add_argument("--lock-psi-tau", action=argparse.BooleanOptionalAction, default=None,
                      help="lock onsets to the 16th-note grid (with drums)")
    rend.add_argument("--tempo", type=float, help="BPM (40..300)")
    rend.add_argument("--duration", type=float, help="seconds (1..300), default 30")
    rend.add_argument("--format", choices=FORMATS, help="output format, default wav; stems: a ZIP of one WAV "
                      "per voice, the MIDI and manifest.json")
    rend.add_argument("--output", "-o", type=Path, required=True, help="file to write")

    pres = commands.add_parser("presets", help="list presets")
    pres.add_argument("--json", action="store_true", help="print a JSON list of preset objects")

    sty = commands.add_parser("styles", help="list styles")
    sty.add_argument("--json", action="store_true", help="print a JSON list of style objects")
    return parser


def _render_atomically(spec, path: Path, progress) -> int:
    """Render `spec` into a temporary file beside `path`, then rename it; returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        size = render_to_file(spec, tmp, progress=progress)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return size


def _progress_bar(total_seconds: float):
    """A tqdm bar over the render's fraction done, or None when stderr is not a terminal."""
    if not sys.stderr.isatty() or total_seconds < PROGRESS_MIN_SECONDS:
        return None
    from tqdm import tqdm

    return tqdm(total=1000, unit="‰", desc="rendering", leave=False, file=sys.stderr)


def _render(args: argparse.Namespace, catalog) -> int:
    geometry = {name: getattr(args, name) for name in ("n", "k", "omega", "xi", "psi", "lock_psi_tau")}
    geometry = {name: value for name, value in geometry.items() if value is not None}
    spec = resolve_request(
        catalog=catalog,
        prompt=args.prompt,
        preset=args.preset,
        params=geometry if geometry or (args.prompt is None and args.preset is None) else None,
        tempo=args.tempo,
        duration_seconds=args.duration,
        format=args.format,
        style=args.style,
        key=args.key,
        variation=args.variation,
        loop=args.loop,
    )
    bar = _progress_bar(spec.duration_seconds)

    def progress(fraction: float) -> None:
        if bar is not None:
            bar.update(round(fraction * 1000) - bar.n)

    try:
        size = _render_atomically(spec, args.output, progress)
    finally:
        if bar is not None:
            bar.close()
    resolved = {"job_id": spec.id, "preset": spec.preset, "style": spec.style_id, "key": spec.musical_key.name,
                "variation": spec.variation, "loop": spec.loop, "params": spec.params, "tempo": spec.tempo,
                "duration_seconds": spec.reported_seconds, "format": spec.format,
                "output": str(args.output), "bytes": size}
    print(json.dumps(resolved, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m engine`; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "styles":
            styles = [style.summary() for style in style_catalog()]
            if args.json:
                print(json.dumps(styles, indent=2, ensure_ascii=False))
            else:
                for style in styles:
                    lo, hi = style["tempo_range"]
                    print(f"{style['id']:<16} {style['name']:<18} {style['meter']:<4} {lo:g}-{hi:g} BPM  "
                          f"{style['feel']}, drums: {style['drums'] or 'none'}")
            return 0
        catalog = load_presets(args.presets_file or default_presets_path())
        if args.command == "presets":
            presets = [preset.to_dict() for preset in catalog]
            if args.json:
                print(json.dumps(presets, indent=2, ensure_ascii=False))
            else:
                for preset in presets:
                    print(f"{preset['id']:<24} {preset['name']}")
            return 0
        return _render(args, catalog)
    except EngineError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{parser.prog}: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
