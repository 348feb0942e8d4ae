"""Rhythm: the tick grid, Euclidean patterns (Toussaint 2005), drum step strings, swing, rubato.

Time inside the composer is counted in ticks, TICKS_PER_BEAT = 24 per quarter note, so 16ths
(6), 32nds (3), 16th triplets (4) and 8th triplets (8) are whole numbers of ticks. A bar is
`bar_ticks(meter)`: 96 in 4/4, 72 in 3/4 and in 6/8 (six 8ths of 12 ticks).
"""
from __future__ import annotations

import numpy as np

TICKS_PER_BEAT = 24  #: ticks per quarter note
SIXTEENTH = 6  #: ticks
EIGHTH = 12  #: ticks
TRIPLET_EIGHTH = 8  #: ticks

#: Velocity factor of each step character of a drum lane ('.' is a rest).
STEP_ACCENT = {"x": 1.0, "X": 1.18, "o": 0.5, "r": 0.85, "3": 0.8}
#: Hits within one step for roll characters.
STEP_HITS = {"r": 2, "3": 3}


def bar_ticks(meter: tuple[int, int]) -> int:
    """Ticks in one bar of `meter` (beats, unit): 4/4 -> 96, 3/4 -> 72, 6/8 -> 72."""
    beats, unit = meter
    return beats * TICKS_PER_BEAT * 4 // unit


def pulse_ticks(meter: tuple[int, int]) -> int:
    """Ticks of the felt beat: a quarter in x/4, a dotted quarter in 6/8."""
    return 36 if meter == (6, 8) else TICKS_PER_BEAT


def euclid(pulses: int, steps: int, rotation: int = 0) -> np.ndarray:
    """Euclidean rhythm E(pulses, steps) as a bool array; onsets spread as evenly as possible.

    Uses the closed form onset_i = ceil(i*steps/pulses), which gives the same necklace as
    Bjorklund's algorithm and always starts with an onset; `rotation` rotates the pattern
    so that it starts at its rotation-th onset (so it still starts with an onset).
    """
    pulses = max(0, min(pulses, steps))
    out = np.zeros(steps, bool)
    if pulses == 0:
        return out
    onsets = -((-np.arange(pulses) * steps) // pulses)  # ceil(i * steps / pulses)
    shift = int(onsets[rotation % pulses])
    out[(onsets - shift) % steps] = True
    return out


def onsets_of(pattern: np.ndarray) -> np.ndarray:
    """Indices (int64) of the True steps of a pattern."""
    return np.flatnonzero(pattern).astype(np.int64)


def lane_hits(steps: str, bar: int) -> list[tuple[int, float]]:
    """(tick within the bar, accent) of each hit of one drum lane string spread over `bar` ticks."""
    step = bar // len(steps)
    out = []
    for i, ch in enumerate(steps):
        if ch == ".":
            continue
        hits = STEP_HITS.get(ch, 1)
        for h in range(hits):
            out.append((i * step + (h * step) // hits, STEP_ACCENT[ch] * (1.0 if h == 0 else 0.8)))
    return out


def swing_ticks(t: np.ndarray, *, swing: float, pair: int) -> np.ndarray:
    """Swung positions (float ticks) of straight ticks `t`: within each pair of `pair` ticks the
    midpoint moves to `swing` of the pair (0.5 straight, 0.67 triplet swing), linearly between."""
    t = np.asarray(t, np.float64)
    if swing == 0.5:
        return t
    base = np.floor(t / pair) * pair
    f = (t - base) / pair
    warped = np.where(f < 0.5, f * 2.0 * swing, swing + (f - 0.5) * 2.0 * (1.0 - swing))
    return base + warped * pair


def rubato(t: np.ndarray, *, phrase_seconds: float, depth: float) -> np.ndarray:
    """Free timing: a smooth, monotonic push-and-pull of times `t` (seconds) over each phrase.

    t + depth*(1 - cos(2*pi*t/phrase_seconds))/2, with depth capped so time never runs back.
    """
    depth = min(depth, 0.9 * phrase_seconds / np.pi)
    return t + depth * 0.5 * (1.0 - np.cos(2.0 * np.pi * t / phrase_seconds))
