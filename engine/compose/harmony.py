"""Harmony and bass: chord voicings with voice leading, comping rhythm, and the bass line.

Outputs are note lists in ticks (see rhythm.py): dicts of int64 arrays start, end, pitch,
plus `order` (the note's index within its chord, used to strum chords in free timing).
"""
from __future__ import annotations

import numpy as np

from engine.compose.form import Form
from engine.compose.rhythm import TICKS_PER_BAR, euclid, onsets_of
from engine.compose.scales import Mode

HARMONY_CENTER = 60  #: MIDI pitch around which chords are voiced
BASS_LOW, BASS_HIGH = 36, 47  #: bass roots are placed in this octave (MIDI pitch)


def _close_voicings(pcs: tuple[int, ...], center: int) -> list[tuple[int, ...]]:
    """Every inversion of a chord in close position, its lowest note nearest center - 5."""
    out = []
    for r in range(len(pcs)):
        rot = pcs[r:] + pcs[:r]
        low = center - 5
        first = low + ((rot[0] - low) % 12)
        if first - low > 6:
            first -= 12
        notes = [first]
        for pc in rot[1:]:
            notes.append(notes[-1] + ((pc - notes[-1]) % 12 or 12))
        out.append(tuple(notes))
    return out


def voice_chords(chords: list[tuple[int, ...]], *, center: int, spread: int) -> list[tuple[int, ...]]:
    """Voice absolute pitch-class chords as MIDI pitches with smooth voice leading.

    Each chord takes the close-position inversion nearest the previous one (and the center);
    The root is doubled; spread 0..3 then opens the chord: drop-2, a doubled top octave, a
    doubled low root.
    """
    prev: tuple[int, ...] | None = None
    voiced = []
    for pcs in chords:
        best, best_cost = None, 0.0
        for cand in _close_voicings(pcs, center):
            cost = 0.4 * abs(float(np.mean(cand)) - center)
            if prev is not None:
                if len(prev) == len(cand):
                    cost += float(np.abs(np.array(cand) - np.array(prev)).sum())
                else:
                    cost += len(cand) * abs(float(np.mean(cand)) - float(np.mean(prev)))
            if best is None or cost < best_cost:
                best, best_cost = cand, cost
        assert best is not None
        prev = best
        notes = sorted(best)
        root = min(p for p in notes if p % 12 == pcs[0])
        notes = sorted(notes + [root + 12 if root + 12 <= center + 14 else root - 12])  # double the root
        if spread >= 1 and len(notes) >= 4 and notes[-2] - 12 not in notes:
            notes[-2] -= 12  # drop-2: open position
        if spread >= 2 and max(notes) + 12 <= center + 24:
            notes.append(max(notes) + 12)
        if spread >= 3 and root - 12 >= 40 and root - 12 not in notes:
            notes.append(root - 12)
        voiced.append(tuple(sorted(set(notes))))
    return voiced


def _abs_chord(mode: Mode, idx: int, tonic: int) -> tuple[int, ...]:
    return tuple((tonic + pc) % 12 for pc in mode.chords[idx])


def harmony_notes(form: Form, mode: Mode, *, tonic: int, omega: float, xi: float) -> dict[str, np.ndarray]:
    """Chords: one strike per slot when |omega| < 2, else re-struck on a Euclidean 8th pattern."""
    spread = min(3, int(abs(xi) / 2.5))
    chords = [_abs_chord(mode, idx, tonic) for _, _, idx in form.slots]
    voiced = voice_chords(chords, center=HARMONY_CENTER, spread=spread)
    a = abs(omega)
    strikes = 0 if a < 2 else 2 if a < 4 else 3 if a < 7 else 5
    comp = onsets_of(euclid(strikes, 8)) * (TICKS_PER_BAR // 8) if strikes else np.zeros(1, np.int64)
    start, end, pitch, order = [], [], [], []
    for (s0, s1, _), notes in zip(form.slots, voiced):
        if strikes and s0 < form.final_tick:
            bar0 = s0 - s0 % TICKS_PER_BAR
            hits = [t for b in range(bar0, s1, TICKS_PER_BAR) for t in (b + comp).tolist() if s0 <= t < s1]
            hits = sorted(set([s0] + hits))
        else:
            hits = [s0]
        bounds = hits[1:] + [s1]
        for h0, h1 in zip(hits, bounds):
            for i, p in enumerate(notes):
                start.append(h0)
                end.append(h1)
                pitch.append(p)
                order.append(i)
    return {"start": np.array(start, np.int64), "end": np.array(end, np.int64),
            "pitch": np.array(pitch, np.int64), "order": np.array(order, np.int64)}


def _bass_pitch(pc: int) -> int:
    return BASS_LOW + (pc - BASS_LOW) % 12


def bass_notes(form: Form, mode: Mode, *, tonic: int, omega: float, xi: float) -> dict[str, np.ndarray]:
    """Bass line: chord roots on every chord change (tonic at phrase starts and ends).

    |omega| < 0.75: one held note per chord; < 2.5: root and fifth on beats 1 and 3;
    faster: Euclidean 8th patterns E(3, 8) / E(5, 8) over root, fifth and octave.
    With |xi| >= 4 phrase openings drop an octave (wider register). In the symmetric scale
    families (no diatonic pull to a tonic) the bass holds a tonic pedal under every chord but
    the cadential one.
    """
    pedal = mode.family not in ("diatonic", "pentatonic")
    cadential = len(mode.chords) - 1
    a = abs(omega)
    if a < 0.75:
        pattern = None
    elif a < 2.5:
        pattern = np.array([0, 24], np.int64)
    else:
        pattern = onsets_of(euclid(3 if a < 5 else 5, 8)) * (TICKS_PER_BAR // 8)
    start, end, pitch = [], [], []
    for s0, s1, idx in form.slots:
        chord = _abs_chord(mode, idx, tonic)
        root = _bass_pitch(tonic if pedal and idx != cadential else chord[0])
        if abs(xi) >= 4 and (s0 % form.phrase_ticks == 0 or s0 == form.final_tick) and root - 12 >= 28:
            root -= 12
        fifth = root + ((chord[min(2, len(chord) - 1)] - root) % 12)
        if fifth - root > 7:
            fifth -= 12
        tones = (root, root + 12 if root + 12 <= 52 else root, fifth, root)
        if pattern is None or s0 >= form.final_tick:
            hits = [s0]
        else:
            bar0 = s0 - s0 % TICKS_PER_BAR
            hits = sorted(set([s0] + [t for b in range(bar0, s1, TICKS_PER_BAR)
                                      for t in (b + pattern).tolist() if s0 <= t < s1]))
        bounds = hits[1:] + [s1]
        for i, (h0, h1) in enumerate(zip(hits, bounds)):
            start.append(h0)
            end.append(h1)
            pitch.append(tones[i % 4] if i else root)
    return {"start": np.array(start, np.int64), "end": np.array(end, np.int64),
            "pitch": np.array(pitch, np.int64), "order": np.zeros(len(start), np.int64)}
