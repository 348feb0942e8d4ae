"""Performance: ticks -> seconds (strict grid or free timing), dynamics, and Part building.

Locked (lock_psi_tau): every onset is tick * seconds-per-tick on the 16th grid, exactly.
Free: a smooth rubato over each phrase, a seeded timing jitter, strummed chords and
triplet subdivisions (from melody.py) put onsets off the 16th grid.
|xi| scales the dynamics: downbeat accents, a swell over each phrase and seeded variation;
at xi = 0 every note of a part has the same velocity.
"""
from __future__ import annotations

import numpy as np

from engine.compose.form import Form
from engine.compose.rhythm import TICKS_PER_BAR, TICKS_PER_BEAT, rubato
from engine.score import Note, Part

MIN_NOTE = 0.04  #: seconds, shortest note kept
STRUM = 0.022  #: seconds between successive chord tones in free timing
JITTER = 0.014  #: seconds, standard deviation of the free-timing jitter


def velocities(ticks: np.ndarray, form: Form, *, base: int, xi: float, rng: np.random.Generator) -> np.ndarray:
    """MIDI velocities 1..127 for onsets at `ticks`: constant at xi = 0, wider with |xi|."""
    accent = np.where(ticks % TICKS_PER_BAR == 0, 1.0,
                      np.where(ticks % TICKS_PER_BEAT == 0, 0.55, np.where(ticks % 6 == 0, 0.25, 0.0)))
    u = (ticks % form.phrase_ticks) / form.phrase_ticks
    swell = np.sin(np.pi * u)
    a = abs(xi)
    noise = rng.normal(0.0, 1.0, len(ticks))
    v = base + a * (1.8 * (accent - 0.4) + 2.4 * (swell - 0.5) + 0.6 * noise)
    return np.clip(np.rint(v), 1, 127).astype(np.int64)


def to_seconds(notes: dict[str, np.ndarray], form: Form, *, locked: bool, lag: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times in seconds (float64) of tick-based notes, all <= form.end_seconds."""
    start = notes["start"] * form.tick
    end = np.minimum(notes["end"] * form.tick, form.end_seconds)
    if not locked and len(start):
        phrase = form.phrase_ticks * form.tick
        depth = 0.35 * (TICKS_PER_BEAT * form.tick)
        jitter = np.clip(rng.normal(0.0, JITTER, len(start)), -2.5 * JITTER, 2.5 * JITTER)
        start = rubato(start, phrase_seconds=phrase, depth=depth) + lag + jitter + STRUM * notes["order"]
        end = np.minimum(rubato(end, phrase_seconds=phrase, depth=depth) + lag, form.end_seconds)
        start = np.maximum(start, 0.0)
    return start, end


def build_part(name: str, program: int, pan: float, *, start: np.ndarray, end: np.ndarray,
               pitch: np.ndarray, velocity: np.ndarray, is_drum: bool = False) -> Part:
    """A Part with notes sorted by (start, pitch); drops too-short notes and same-pitch overlaps."""
    keep = end - start >= MIN_NOTE
    start, end, pitch, velocity = start[keep], end[keep], pitch[keep], velocity[keep]
    order = np.lexsort((start, pitch))  # by pitch, then start: trim overlaps of one key
    s, e, p = start[order], end[order], pitch[order]
    same = np.append(p[1:] == p[:-1], False)
    nxt = np.append(s[1:], np.inf)
    e = np.where(same, np.minimum(e, nxt), e)
    end = np.empty_like(end)
    end[order] = e
    keep = end - start >= min(MIN_NOTE, 0.02)
    start, end, pitch, velocity = start[keep], end[keep], pitch[keep], velocity[keep]
    order = np.lexsort((pitch, start))
    notes = tuple(Note(s, e, p, v) for s, e, p, v in zip(start[order].tolist(), end[order].tolist(),
                                                        pitch[order].tolist(), velocity[order].tolist()))
    return Part(name=name, program=program, is_drum=is_drum, pan=pan, notes=notes)
