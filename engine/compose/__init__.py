"""Composition: geometry (a RenderSpec) -> Score. Placeholder: a simple diatonic cadence loop."""
from __future__ import annotations

import numpy as np

from engine.score import Note, Part, Score
from engine.spec import RenderSpec

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_PROGRESSION = (0, 3, 4, 0)  # I IV V I (scale degrees)


def params_to_score(spec: RenderSpec) -> Score:
    """A valid Score for `spec`: tempo in BPM, times in seconds, MIDI pitches. Deterministic."""
    rng = np.random.default_rng(spec.seed)
    beat = 60.0 / spec.tempo
    bar = 4 * beat
    dur = spec.duration_seconds
    tonic = spec.tonic
    bass, harm, mel, drums = [], [], [], []
    t, i = 0.0, 0
    while t < dur - 1e-9:
        end = min(t + bar, dur)
        deg = _PROGRESSION[i % 4]
        chord = [_MAJOR[(deg + s) % 7] + tonic for s in (0, 2, 4)]
        bass.append(Note(t, end, 36 + chord[0] % 12, 90))
        for pc in chord:
            harm.append(Note(t, end, 60 + pc % 12, 70))
        for b in range(4):
            s = t + b * beat
            if s < dur - 1e-9:
                pc = chord[int(rng.integers(3))]
                mel.append(Note(s, min(s + beat, dur), 72 + pc % 12, 80))
                if spec.lock_psi_tau:
                    drums.append(Note(s, min(s + beat / 4, dur), 36 if b % 2 == 0 else 38, 100))
        t += bar
        i += 1
    parts = [Part("bass", 33, False, 0.0, tuple(sorted(bass, key=lambda n: (n.start, n.pitch)))),
             Part("harmony", 0, False, -0.3, tuple(sorted(harm, key=lambda n: (n.start, n.pitch)))),
             Part("melody", 73, False, 0.3, tuple(mel))]
    if spec.lock_psi_tau:
        parts.append(Part("drums", 0, True, 0.0, tuple(drums)))
    return Score(tempo=spec.tempo, duration=dur, tonic=tonic, seed=spec.seed, parts=tuple(parts))
