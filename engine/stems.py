"""Score -> a stems ZIP: one 16-bit stereo WAV per voice, the MIDI, and a manifest.

Layout of the archive (in this order, every entry stored uncompressed, dated 1980-01-01):

    stems/<role>.wav   one per role present (drums, bass, harmony, melody, pad, counter, ...;
                       `vinyl` for a style's crackle), 44.1 kHz, 16-bit, stereo, all
                       exactly `frames` long
    score.mid          the MIDI of the same Score (the bytes `format: "midi"` gives)
    manifest.json      what is in the archive: files, voices (role, GM programs and names, file),
                       the master gain, sample rate, frames, tempo, key, style, the limiter

Written as it is rendered: every stem's size is known before rendering (a 44-byte WAV header
and 4 bytes a frame), so each WAV's place in the ZIP is reserved up front (`StoredZip`) and
every window of every stem is written into its place as it comes (engine.synth.stems); the MIDI
and the manifest (which reports what the rendering measured) follow. Nothing else is written,
and memory does not grow with the number of stems. Deterministic: the same Score gives the
same bytes (fixed entry order, dates and attributes; no timestamps).
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pretty_midi

from engine.encode import WAV_HEADER, wav_header
from engine.midi import score_to_midi_bytes
from engine.score import Score
from engine.storedzip import StoredZip
from engine.styles import KITS
from engine.synth.master import CEILING_DBTP, TARGET_LUFS
from engine.synth.stems import (
    STEM_CEILING_DBFS,
    VINYL,
    StemSet,
    score_to_stems,
    stem_names,
)
from engine.synth.tonecache import ToneCache

MANIFEST = "manifest.json"
MIDI = "score.mid"
STEMS_DIR = "stems"

LIMITER_NOTE = (
    "The full mix (format wav/mp3) is this sum through a look-ahead true-peak limiter that ducks "
    "peaks above -1.5 dBTP (ceiling -1 dBTP). The stems are taken before the limiter: summed, they "
    "are the un-limited mix at the same master gain, so where the limiter acted the sum peaks "
    "higher than the full mix, by up to limiter.max_reduction_db. Sum them into a float bus, or "
    "put a limiter on the sum, to avoid clipping."
)


def score_to_stems_zip(score: Score, path: str, *, sr: int = 44100, info: dict[str, Any] | None = None,
                       progress: Callable[[float], None] | None = None,
                       tones: ToneCache | None = None) -> None:
    """Write the stems ZIP of `score` to `path` (created or overwritten).

    info: extra fields for the manifest (e.g. job_id, engine_version). `progress` is called
    with the fraction done (0.0 .. 1.0).
    """
    frames = round(score.duration * sr)
    names = stem_names(score)
    with open(path, "wb") as fh:
        archive = StoredZip(fh)
        entries = [archive.reserve(f"{STEMS_DIR}/{name}.wav", WAV_HEADER + 4 * frames) for name in names]
        for entry in entries:
            archive.write(entry, wav_header(frames, sr=sr))

        def write(g: int, y: np.ndarray) -> None:
            archive.write(entries[g], y.astype("<i2", copy=False))

        stems = score_to_stems(score, write, sr=sr, tones=tones,
                               progress=None if progress is None else (lambda f: progress(0.95 * f)))
        archive.add(MIDI, score_to_midi_bytes(score))
        manifest = stems_manifest(score, stems, info=info)
        archive.add(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
        archive.close()
    if progress:
        progress(1.0)


def stems_manifest(score: Score, stems: StemSet, *, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest's JSON object (plain data; floats rounded so they print the same everywhere)."""
    m = stems.mastered
    voices = []
    for stem in stems.stems:
        if stem.role == VINYL:
            instruments = ["vinyl crackle and hiss (bus effect)"]
        elif stem.is_drum:
            instruments = [f"{KITS.get(p, 'standard')} drum kit" for p in stem.programs]
        else:
            instruments = [pretty_midi.program_to_instrument_name(p % 128) for p in stem.programs]
        voices.append({
            "role": stem.role, "file": f"{STEMS_DIR}/{stem.role}.wav", "programs": list(stem.programs),
            "instruments": instruments, "is_drum": stem.is_drum,
            "dc_removed": [_r(stem.dc[0], 9), _r(stem.dc[1], 9)], "peak_dbfs": _db(stem.peak),
        })
    manifest = {
        **(info or {}),
        "files": [*(v["file"] for v in voices), MIDI, MANIFEST],
        "voices": voices,
        "midi": MIDI,
        "sample_rate": stems.sr, "channels": 2, "bits_per_sample": 16, "frames": stems.frames,
        "duration_seconds": _r(stems.frames / stems.sr, 6),
        "tempo": score.tempo, "meter": list(score.meter), "key": score.key, "style": score.style,
        "gain": {
            "master_gain_db": _r(m.gain_db, 6), "master_gain_linear": _r(m.gain, 9),
            "stem_headroom_db": _r(stems.headroom_db, 6), "stem_headroom_linear": _r(stems.headroom, 9),
            "stem_gain_db": _r(m.gain_db + stems.headroom_db, 6),
            "stem_gain_linear": _r(m.gain * stems.headroom, 9),
            "target_lufs": TARGET_LUFS, "mix_lufs_before_gain": _r(m.lufs, 3) if math.isfinite(m.lufs) else None,
            "applied_to": "every stem, after removing its own DC offset: the master gain of the full mix, "
                          "then the headroom (0 dB unless a stem would otherwise peak above "
                          f"{STEM_CEILING_DBFS:g} dBFS, which 16 bits cannot hold), and the edge fades",
        },
        "limiter": {
            "ceiling_dbtp": CEILING_DBTP, "max_reduction_db": _r(m.limiter_db, 3),
            "summed_stems_peak_dbfs": _db(stems.sum_peak), "note": LIMITER_NOTE,
        },
        "sum": "The stems summed sample by sample, divided by gain.stem_headroom_linear (1 for most "
               "pieces), equal the full mix before its limiter (within 16-bit rounding, one step per "
               "stem). Drive (saturation) is a bus process: its gain, computed from the whole mix, is "
               "applied to every stem alike.",
    }
    return manifest


def _r(x: float, places: int) -> float:
    return round(float(x), places) + 0.0


def _db(peak: float) -> float | None:
    """A sample peak in dBFS (None for digital silence)."""
    return _r(20.0 * math.log10(peak), 3) if peak > 0 else None
