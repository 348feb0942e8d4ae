"""Loops: the sound ringing past a loop's end, added onto its start, as it sounds when the file
repeats (`Score.loop`).

A loop is mixed LOOP_TAIL seconds past its end; the overhang (reverb tails, releases, cymbals)
is folded onto the start as many times round as it lasts. Bus effects come after the fold,
their filters first run over the loop's last PRIME_FRAMES frames, so the start continues the
end. (Mastering then skips the fades and lets the limiter look across the join: `master`.)
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.score import Score
from engine.synth.effects import BusEffects
from engine.synth.mix import mix
from engine.synth.reverb import Reverb
from engine.synth.tonecache import ToneCache

LOOP_TAIL = 4.0  #: seconds a loop is mixed past its end: the longest reverb, release or cymbal ring
PRIME_FRAMES = 4096  #: frames of a loop's end the bus filters run over before its start


def fold_onto_start(y: np.ndarray, frames: int, *, axis: int = 0) -> None:
    """Add y's frames past `frames` onto its first frames, in place, wrapping as often as needed
    (y: float32, the frame axis `axis`, at least `frames` long)."""
    total = y.shape[axis]
    for a in range(frames, total, frames):
        n = min(frames, total - a)
        head = [slice(None)] * y.ndim
        over = [slice(None)] * y.ndim
        head[axis], over[axis] = slice(0, n), slice(a, a + n)
        y[tuple(head)] += y[tuple(over)]


def looped_mix(score: Score, frames: int, *, sr: int, effects: BusEffects,
               progress: Callable[[float], None], tones: ToneCache | None) -> np.ndarray:
    """A loop's mix, float32 (frames, 2), before mastering: mixed LOOP_TAIL past the end, the
    overhang folded onto the start, then the bus effects (filters started from the end)."""
    total = frames + round(LOOP_TAIL * sr)
    bus = np.zeros((total, 2), np.float32)
    mix(score, bus, sr=sr, reverb=Reverb(sr=sr, frames=total), progress=progress, tones=tones)
    fold_onto_start(bus, frames)
    bus = bus[:frames]
    if effects.active:
        effects.prime(np.ascontiguousarray(bus[-min(frames, PRIME_FRAMES):].T))
        effects.process_bus(bus)
    return bus
