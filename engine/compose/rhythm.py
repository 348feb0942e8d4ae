"""Rhythm: Euclidean patterns (Bjorklund / Toussaint 2005) and the time grid.

Time inside the composer is counted in ticks of 1/48 bar (1/12 beat, 4/4 time), so both the
16th-note grid (3 ticks) and the triplet-8th grid (4 ticks) are whole numbers of ticks.
"""
from __future__ import annotations

import numpy as np

TICKS_PER_BEAT = 12
TICKS_PER_BAR = 48
SIXTEENTH = 3  #: ticks
TRIPLET_EIGHTH = 4  #: ticks


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


def rubato(t: np.ndarray, *, phrase_seconds: float, depth: float) -> np.ndarray:
    """Free timing: a smooth, monotonic push-and-pull of times `t` (seconds) over each phrase.

    t + depth*(1 - cos(2*pi*t/phrase_seconds))/2, with depth capped so time never runs back.
    """
    depth = min(depth, 0.9 * phrase_seconds / np.pi)
    return t + depth * 0.5 * (1.0 - np.cos(2.0 * np.pi * t / phrase_seconds))
