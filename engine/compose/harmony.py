"""Harmony: chords of the style's progressions in the geometry's scale, voiced with voice leading.

A slot's chord is built on its scale degree: in the diatonic family by stacking scale thirds
(triads; sevenths and ninths as the style's extension or a large n asks), in the other
families from the family's own chords (tonic, cadential and colour chords, engine.compose.scales).
Every chord tone is a scale tone, so the pitch-class set still follows k/n.
"""
from __future__ import annotations

import numpy as np

from engine.compose.scales import Mode, chord_extension

HARMONY_CENTER = 62  #: MIDI pitch around which comping chords are voiced
PAD_CENTER = 67  #: MIDI pitch around which held pad chords are voiced


def chord_pcs(mode: Mode, degree: int, *, extension: int) -> tuple[int, ...]:
    """Pitch classes relative to the tonic, root first, of the chord on scale `degree`."""
    if mode.family == "diatonic":
        size = 3 + max(0, min(2, extension))
        return tuple(mode.scale[(degree + 2 * i) % 7] for i in range(size))
    chords = mode.chords  # the family's own: [0] tonic, [-1] cadential, colour chords between
    if degree in (0, 2, 3, 5):  # no diatonic pull here, so the tonic chord comes back often
        return chords[0]
    if degree == 4:
        return chords[-1]
    return chords[1 + degree % max(1, len(chords) - 2)]


def extension_for(style_extension: int, n: int) -> int:
    """Chord extension 0..2: the style's, or more when n asks for richer chords."""
    return max(style_extension, chord_extension(n))


def _close_voicings(pcs: tuple[int, ...], center: int) -> list[tuple[int, ...]]:
    """Every inversion of a chord in close position, its lowest note near center - 5."""
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


def voice_chords(chords: list[tuple[int, ...]], *, center: int, open_voicing: bool = False,
                 max_notes: int = 4) -> list[tuple[int, ...]]:
    """Voice absolute pitch-class chords (root first) as MIDI pitches with smooth voice leading.

    Chords of more than `max_notes` tones drop their fifth, then their root (the bass has it).
    Each chord takes the close-position inversion nearest the previous one and the center;
    `open_voicing` drops the second-highest voice an octave (drop-2), for a wider register.
    """
    prev: tuple[int, ...] | None = None
    voiced = []
    for pcs in chords:
        pcs = tuple(pcs)
        if len(pcs) > max_notes and len(pcs) >= 4:
            pcs = pcs[:2] + pcs[3:]  # drop the fifth
        if len(pcs) > max_notes:
            pcs = pcs[1:]  # rootless
        best, best_cost = None, 0.0
        for cand in _close_voicings(pcs, center):
            cost = 0.4 * abs(float(np.mean(cand)) - center)
            if prev is not None and len(prev) == len(cand):
                cost += float(np.abs(np.array(cand) - np.array(prev)).sum())
            elif prev is not None:
                cost += len(cand) * abs(float(np.mean(cand)) - float(np.mean(prev)))
            if best is None or cost < best_cost:
                best, best_cost = cand, cost
        assert best is not None
        prev = best
        notes = sorted(best)
        if open_voicing and len(notes) >= 3:
            notes[-2] -= 12
        voiced.append(tuple(sorted(notes)))
    return voiced


def absolute(pcs: tuple[int, ...], tonic: int) -> tuple[int, ...]:
    """Relative pitch classes -> absolute pitch classes for `tonic`."""
    return tuple((tonic + pc) % 12 for pc in pcs)


def power_chord(root_pc: int, fifth_pc: int, *, low: int = 40) -> tuple[int, int, int]:
    """Root, fifth and octave (MIDI pitches) with the root in [low, low + 12); the fifth is the
    chord's own (a scale tone), normally a perfect fifth above the root."""
    root = low + (root_pc - low) % 12
    return root, root + ((fifth_pc - root_pc) % 12 or 7), root + 12
