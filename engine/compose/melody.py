"""Melody (and the arpeggio voice): Euclidean rhythms carrying the walk around the circle.

The melody's pitch classes follow the walk (scale degree of p_j = j*k mod n, walked backwards
when omega < 0, the circle turning the other way), so consecutive
notes move by the generator and the line repeats only every n/gcd(n, k) notes (a cycle
shorter than the scale is sequenced up a scale step each time round). Each note's
octave is chosen to follow a contour: rising through each phrase when omega > 0, falling
when omega < 0, an arch when omega = 0. |omega| sets onsets per bar, |xi| the register width.
"""
from __future__ import annotations

import math

import numpy as np

from engine.compose.form import Form
from engine.compose.rhythm import (
    SIXTEENTH,
    TICKS_PER_BAR,
    TRIPLET_EIGHTH,
    euclid,
    onsets_of,
)
from engine.compose.scales import Mode, walk_degrees

MELODY_CENTER = 72  #: MIDI pitch
MAX_NOTES_PER_SECOND = 7.0  #: playability cap on melody density


def pulses_per_bar(omega: float, bar_seconds: float) -> int:
    """Melody onsets per bar (on 16 steps): non-decreasing in |omega|, capped for playability."""
    p = round(2 + 1.3 * abs(omega))
    cap = max(1, int(MAX_NOTES_PER_SECOND * bar_seconds))
    return max(1, min(p, 16, cap))


def _register(xi: float) -> tuple[int, int]:
    """Melody register (MIDI pitches lo, hi): 19 semitones at xi = 0, up to 45 at |xi| = 10."""
    half = 9 + 1.3 * abs(xi)
    return max(50, round(MELODY_CENTER - half)), min(96, round(MELODY_CENTER + half))


def _rhythm(form: Form, *, omega: float, k: int, locked: bool) -> tuple[np.ndarray, np.ndarray]:
    """Onset ticks and phrase-final flags of the melody up to the final cadence."""
    bar_seconds = TICKS_PER_BAR * form.tick
    p16 = pulses_per_bar(omega, bar_seconds)
    steps, unit = (16, SIXTEENTH) if locked else (12, TRIPLET_EIGHTH)
    p = p16 if locked else max(1, round(p16 * 12 / 16))
    bars = [onsets_of(euclid(p, steps)),
            onsets_of(euclid(p, steps, rotation=1 + k % max(1, p))),
            onsets_of(euclid(p, steps, rotation=k % max(1, p))),
            onsets_of(euclid(max(1, (p + 1) // 2), steps))]
    n_bars = -(-form.final_tick // TICKS_PER_BAR)
    ticks, last = [], []
    for b in range(n_bars):
        pattern = bars[b % 4] * unit + b * TICKS_PER_BAR
        pattern = pattern[pattern < form.final_tick]
        ticks.append(pattern)
        flag = np.zeros(len(pattern), bool)
        if b % 4 == 3 and len(pattern):
            flag[-1] = True
        last.append(flag)
    if not ticks:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(ticks), np.concatenate(last)


def _contour(u: float, direction: int, lo: int, hi: int) -> float:
    if direction > 0:
        f = 0.15 + 0.7 * u
    elif direction < 0:
        f = 0.85 - 0.7 * u
    else:
        f = 0.3 + 0.4 * np.sin(np.pi * u)
    return lo + (hi - lo) * f


def _place(pcs: np.ndarray, ticks: np.ndarray, form: Form, direction: int, lo: int, hi: int) -> list[int]:
    """Choose an octave for each pitch class: near the contour, smooth, moving with it."""
    out: list[int] = []
    prev = None
    for pc, t in zip(pcs.tolist(), ticks.tolist()):
        target = _contour((t % form.phrase_ticks) / form.phrase_ticks, direction, lo, hi)
        best, best_cost = lo, 1e9
        for c in range(lo + (pc - lo) % 12, hi + 1, 12):
            cost = abs(c - target)
            if prev is not None:
                step = c - prev
                cost += 0.35 * abs(step) + 0.8 * max(0, -direction * step)
            if cost < best_cost:
                best, best_cost = c, cost
        out.append(best)
        prev = best
    return out


def melody_notes(form: Form, mode: Mode, *, tonic: int, n: int, k: int, omega: float, xi: float,
                 locked: bool) -> dict[str, np.ndarray]:
    """The melody, ending on the tonic held through the final cadence."""
    ticks, last = _rhythm(form, omega=omega, k=k, locked=locked)
    turn = -1 if omega < 0 else 1  # the walk turns the way the circle rotates
    deg = turn * walk_degrees(n, k, len(ticks), mode)
    cycle = n // math.gcd(n, k)
    if cycle < len(mode.scale):  # a short cycle is sequenced: repeated a scale step further
        deg = deg + turn * (np.arange(len(deg)) // cycle)
    deg = deg % len(mode.scale)
    pcs = (tonic + np.asarray(mode.scale, np.int64)[deg]) % 12
    lo, hi = _register(xi)
    direction = int(np.sign(omega))
    pitches = _place(pcs, ticks, form, direction, lo, hi)
    ends = np.append(ticks[1:], form.final_tick)
    gap = np.where(last, SIXTEENTH, 0)
    ends = np.minimum(ends, ticks + 2 * TICKS_PER_BAR)
    ends = np.where(last, np.maximum(ticks + SIXTEENTH, (ticks // TICKS_PER_BAR + 1) * TICKS_PER_BAR - gap), ends)
    ends = np.minimum(ends, np.append(ticks[1:], form.final_tick))
    prev = pitches[-1] if pitches else MELODY_CENTER
    final = prev + ((tonic - prev) % 12)
    if final - prev > 6:
        final -= 12
    return {"start": np.append(ticks, form.final_tick).astype(np.int64),
            "end": np.append(ends, form.end_tick).astype(np.int64),
            "pitch": np.array(pitches + [final], np.int64), "order": np.zeros(len(ticks) + 1, np.int64)}


def arpeggio_notes(form: Form, mode: Mode, *, tonic: int, omega: float, locked: bool) -> dict[str, np.ndarray]:
    """A chord-tone arpeggio (texture for large n): 8ths (locked) or triplets (free), E(a, steps)."""
    steps, unit = (8, 2 * SIXTEENTH) if locked else (6, 2 * TRIPLET_EIGHTH)
    a = max(1, min(steps, 1 + round(0.7 * abs(omega))))
    pattern = onsets_of(euclid(a, steps, rotation=1 if a > 1 else 0)) * unit
    direction = 1 if omega >= 0 else -1
    start, end, pitch = [], [], []
    i = 0
    for s0, s1, idx in form.slots[:-1]:
        pcs = sorted(72 + (tonic + pc - 72) % 12 for pc in mode.chords[idx])
        tones = pcs + [p + 12 for p in pcs]
        if direction < 0:
            tones = tones[::-1]
        bar0 = s0 - s0 % TICKS_PER_BAR
        hits = [t for b in range(bar0, s1, TICKS_PER_BAR) for t in (b + pattern).tolist() if s0 <= t < s1]
        for t in hits:
            start.append(t)
            end.append(min(t + unit * 2, s1))
            pitch.append(tones[i % len(tones)])
            i += 1
    return {"start": np.array(start, np.int64), "end": np.array(end, np.int64),
            "pitch": np.array(pitch, np.int64), "order": np.zeros(len(start), np.int64)}
