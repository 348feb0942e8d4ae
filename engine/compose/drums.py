"""Drums (only when lock_psi_tau): a clear pulse on the 16th grid, busier with |omega|.

General MIDI keys: 36 kick, 38 snare, 42 closed hat, 44 pedal hat, 46 open hat, 49 crash.
Kick on beats 1 and 3 (every beat when |omega| >= 5), snare backbeat on 2 and 4, hats on
quarters, 8ths or 16ths; a Euclidean snare fill ends each phrase.
"""
from __future__ import annotations

import numpy as np

from engine.compose.form import Form
from engine.compose.rhythm import (
    SIXTEENTH,
    TICKS_PER_BAR,
    TICKS_PER_BEAT,
    euclid,
    onsets_of,
)

KICK, SNARE, HAT, PEDAL_HAT, OPEN_HAT, CRASH = 36, 38, 42, 44, 46, 49


def drum_notes(form: Form, *, omega: float, tempo: float) -> dict[str, np.ndarray]:
    """Drum hits in ticks (start, end, pitch = GM key) up to the end of the piece."""
    a = abs(omega)
    kicks = [0, 24] if a < 5 else [0, 12, 24, 36]
    snares = [12, 36]
    hat_step = 12 if a < 1 else (6 if a < 4 or tempo > 150 else 3)
    hat_key = PEDAL_HAT if a < 1 else HAT
    fill = onsets_of(euclid(3 if a < 4 else 5, 8)) * SIXTEENTH + 24 if a >= 1 else np.zeros(0, np.int64)
    start, pitch = [], []
    n_bars = -(-form.final_tick // TICKS_PER_BAR)
    for b in range(n_bars):
        t0 = b * TICKS_PER_BAR
        phrase_end = (t0 + TICKS_PER_BAR) % form.phrase_ticks == 0
        bar = [(t, KICK) for t in kicks] + [(t, SNARE) for t in snares]
        hats = range(0, TICKS_PER_BAR, hat_step)
        if phrase_end and len(fill):
            bar += [(int(t), SNARE) for t in fill if int(t) not in snares]
            hats = range(0, 24, hat_step)
        bar += [(t, hat_key) for t in hats]
        if b % 2 == 1 and a >= 2:
            bar.append((42, OPEN_HAT))  # open hat on the "and" of 4
        for t, key in bar:
            if t0 + t < form.final_tick:
                start.append(t0 + t)
                pitch.append(key)
    start += [form.final_tick, form.final_tick]
    pitch += [KICK, CRASH]
    start_a = np.array(start, np.int64)
    length = max(1, min(SIXTEENTH, int(0.12 / form.tick)))
    end = np.minimum(start_a + length, form.end_tick)
    end[-1] = min(form.final_tick + TICKS_PER_BEAT * 2, form.end_tick)
    return {"start": start_a, "end": end, "pitch": np.array(pitch, np.int64),
            "order": np.zeros(len(start_a), np.int64)}
