"""Performance: ticks -> seconds (the style's grid and swing, or free timing), dynamics, Parts.

Locked (lock_psi_tau): every onset is on the style's grid: tick * seconds-per-tick, with the
off-beats of swing styles moved to the style's swing ratio (e.g. 0.67 of the beat in jazz).
Free: a smooth rubato over each phrase, a seeded timing jitter and strummed chords put onsets
off the grid. |xi| scales the dynamics: downbeat accents, a swell over each phrase and seeded
variation; at xi = 0 every note of a part has the same velocity (apart from the style's accents).
"""
from __future__ import annotations

import numpy as np

from engine.compose.form import Form
from engine.compose.rhythm import rubato, swing_ticks
from engine.score import Note, Part
from engine.styles import Style

MIN_NOTE = 0.04  #: seconds, shortest note kept
STRUM_S = 0.022  #: seconds between successive chord tones in free timing
JITTER_S = 0.014  #: seconds, standard deviation of the free-timing jitter


def velocities(notes: dict[str, np.ndarray], form: Form, *, base: int, xi: float,
               rng: np.random.Generator) -> np.ndarray:
    """MIDI velocities 1..127: base x the style's accents, widened by |xi| (constant at xi = 0
    for unaccented parts)."""
    ticks = notes["start"]
    accent = np.where(ticks % form.bar == 0, 1.0,
                      np.where(ticks % form.pulse == 0, 0.55, np.where(ticks % 12 == 0, 0.25, 0.0)))
    u = (ticks % form.phrase_ticks) / form.phrase_ticks
    swell = np.sin(np.pi * u)
    a = abs(xi)
    noise = rng.normal(0.0, 1.0, len(ticks))
    v = base * notes["accent"] + a * (1.8 * (accent - 0.4) + 2.4 * (swell - 0.5) + 0.6 * noise)
    return np.clip(np.rint(v), 1, 127).astype(np.int64)


def to_seconds(notes: dict[str, np.ndarray], form: Form, style: Style, *, locked: bool, lag: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times in seconds (float64), all <= form.end_seconds."""
    pair = 24 if style.swing_unit == 8 else 12
    swing = style.swing if form.meter != (6, 8) else 0.5
    start = swing_ticks(notes["start"], swing=swing, pair=pair) * form.tick
    end = np.minimum(swing_ticks(notes["end"], swing=swing, pair=pair) * form.tick, form.end_seconds)
    if not locked and len(start):
        phrase = form.phrase_ticks * form.tick
        depth = 0.35 * (form.pulse * form.tick)
        jitter = np.clip(rng.normal(0.0, JITTER_S, len(start)), -2.5 * JITTER_S, 2.5 * JITTER_S)
        start = rubato(start, phrase_seconds=phrase, depth=depth) + lag + jitter + STRUM_S * notes["order"]
        end = np.minimum(rubato(end, phrase_seconds=phrase, depth=depth) + lag, form.end_seconds)
        # a loop's first notes, drawn before its start, come just after it instead: clamping
        # them to 0 would sound them all at once where the loop comes round
        start = np.abs(start) if form.loop else np.maximum(start, 0.0)
    return start, end


def build_part(name: str, program: int, pan: float, *, start: np.ndarray, end: np.ndarray,
               pitch: np.ndarray, velocity: np.ndarray, glide: np.ndarray | None = None,
               is_drum: bool = False) -> Part:
    """A Part with notes sorted by (start, pitch); drops too-short notes and same-pitch overlaps."""
    glide = np.zeros(len(start), np.int64) if glide is None else glide
    keep = end - start >= MIN_NOTE
    start, end, pitch, velocity, glide = start[keep], end[keep], pitch[keep], velocity[keep], glide[keep]
    order = np.lexsort((start, pitch))  # by pitch, then start: trim overlaps of one key
    s, e, p = start[order], end[order], pitch[order]
    same = np.append(p[1:] == p[:-1], False)
    nxt = np.append(s[1:], np.inf)
    e = np.where(same, np.minimum(e, nxt), e)
    end = np.empty_like(end)
    end[order] = e
    keep = end - start >= min(MIN_NOTE, 0.02)
    start, end, pitch, velocity, glide = start[keep], end[keep], pitch[keep], velocity[keep], glide[keep]
    order = np.lexsort((pitch, start))
    notes = tuple(Note(s, e, p, v, g) for s, e, p, v, g in zip(
        start[order].tolist(), end[order].tolist(), pitch[order].tolist(), velocity[order].tolist(),
        glide[order].tolist()))
    return Part(name=name, program=program, is_drum=is_drum, pan=pan, notes=notes)
