"""Composition: a RenderSpec's geometry -> a Score (the single source for audio and MIDI).

    n, k   scale family from the generator 12*k/n semitones (scales.py); the melody walks
           p_j = j*k mod n, so it repeats every n/gcd(n, k) notes; larger n adds chord
           extensions and (n >= 48) an arpeggio voice.
    omega  |omega|: melody onsets per bar, chord changes per bar, busier bass/drums;
           sign: melodic contour rises (> 0) or falls (< 0) through each phrase.
    xi     |xi|: register width and dynamic range; sign: major-like (>= 0) / minor-like mode.
    psi    tonic pitch class (spec.tonic); tonic chords and bass open and close phrases.
    lock_psi_tau  True: all onsets on the 16th grid plus drums; False: free timing, no drums.
    tempo, duration_seconds  BPM and seconds; every note ends by the end of the piece.

Deterministic: all randomness comes from numpy.random.default_rng(spec.seed).
"""
from __future__ import annotations

import numpy as np

from engine.compose.drums import drum_notes
from engine.compose.form import make_form
from engine.compose.harmony import bass_notes, harmony_notes
from engine.compose.melody import arpeggio_notes, melody_notes
from engine.compose.perform import build_part, to_seconds, velocities
from engine.compose.scales import mode_for
from engine.score import Score
from engine.spec import RenderSpec

__all__ = ["params_to_score"]

#: General MIDI programs per role; the geometry picks one (slow/sustained vs fast/percussive).
MELODY_SUSTAINED = (73, 71, 68, 40, 65)  # flute, clarinet, oboe, violin, alto sax
MELODY_STRUCK = (11, 0, 13, 24, 80)  # vibraphone, piano, xylophone, nylon guitar, square lead
HARMONY_SUSTAINED = (89, 48, 52, 19)  # warm pad, strings, choir aahs, church organ
HARMONY_STRUCK = (0, 4, 46, 5)  # piano, e-piano, harp, e-piano 2
BASS_LOCKED = (33, 34, 38)  # fingered, picked, synth bass
BASS_FREE = (32, 35)  # acoustic, fretless
ARPEGGIO = (46, 8, 108)  # harp, celesta, kalimba


def _programs(spec: RenderSpec) -> dict[str, int]:
    a = abs(spec.omega)
    melody = (MELODY_STRUCK if a >= 3 else MELODY_SUSTAINED)[(spec.n + spec.k) % 5]
    harmony = (HARMONY_STRUCK if a >= 2 else HARMONY_SUSTAINED)[spec.k % 4]
    if harmony == melody:
        harmony = HARMONY_STRUCK[(spec.k + 1) % 4]
    bass = BASS_LOCKED[min(2, int(a / 3.5))] if spec.lock_psi_tau else BASS_FREE[spec.n % 2]
    arpeggio = next(p for i in range(3) if (p := ARPEGGIO[(spec.n // 48 + i) % 3]) not in (melody, harmony))
    return {"melody": melody, "harmony": harmony, "bass": bass, "arpeggio": arpeggio}


def params_to_score(spec: RenderSpec) -> Score:
    """Compose the piece for `spec`: tempo BPM, times in seconds, MIDI pitches and velocities."""
    rng = np.random.default_rng(spec.seed)
    locked = spec.lock_psi_tau
    mode = mode_for(spec.n, spec.k, spec.xi)
    tonic = spec.tonic
    form = make_form(tempo=spec.tempo, duration=spec.duration_seconds, omega=spec.omega,
                     mode=mode, n=spec.n, k=spec.k)
    programs = _programs(spec)
    voices = [
        ("bass", bass_notes(form, mode, tonic=tonic, omega=spec.omega, xi=spec.xi), 88, 0.0, 0.012),
        ("harmony", harmony_notes(form, mode, tonic=tonic, omega=spec.omega, xi=spec.xi), 62, -0.35, 0.0),
        ("melody", melody_notes(form, mode, tonic=tonic, n=spec.n, k=spec.k, omega=spec.omega, xi=spec.xi,
                                locked=locked), 92, 0.25, 0.0),
    ]
    if spec.n >= 48:
        voices.append(("arpeggio", arpeggio_notes(form, mode, tonic=tonic, omega=spec.omega, locked=locked),
                       58, 0.55, 0.0))
    parts = []
    for name, notes, base, pan, lag in voices:
        start, end = to_seconds(notes, form, locked=locked, lag=lag, rng=rng)
        vel = velocities(notes["start"], form, base=base, xi=spec.xi, rng=rng)
        part = build_part(name, programs[name], pan, start=start, end=end, pitch=notes["pitch"], velocity=vel)
        if part.notes:  # the arpeggio of a very short piece may have none
            parts.append(part)
    if locked:
        notes = drum_notes(form, omega=spec.omega, tempo=spec.tempo)
        start, end = to_seconds(notes, form, locked=True, lag=0.0, rng=rng)
        vel = velocities(notes["start"], form, base=96, xi=spec.xi, rng=rng)
        vel = np.where(np.isin(notes["pitch"], (42, 44)), np.maximum(1, vel - 28), vel)
        parts.append(build_part("drums", 0, 0.0, start=start, end=end, pitch=notes["pitch"], velocity=vel,
                                is_drum=True))
    return Score(tempo=spec.tempo, duration=spec.duration_seconds, tonic=tonic, seed=spec.seed,
                 parts=tuple(parts))
