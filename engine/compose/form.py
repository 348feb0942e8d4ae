"""Form: bars, phrases, chord slots and the final cadence of a piece, in ticks (1/48 bar).

|omega| sets the harmonic rhythm (chords per bar: 1/2, 1, 2 or 4); phrases are 4 bars (8 when
chords change every 2 bars). Every phrase opens on the tonic chord, returns to it on every
other slot and closes D -> T; the walk chooses the chords in between. The piece ends with a tonic chord at `final_tick`,
which sounds until `end_seconds`, shortly before the end of the audio.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.compose.rhythm import TICKS_PER_BAR, TICKS_PER_BEAT
from engine.compose.scales import Mode, walk_degrees


@dataclass(frozen=True)
class Form:
    """The time plan of one piece.

    tick: seconds per tick (1/48 bar at the spec's tempo).
    final_tick: start of the final tonic chord (a beat boundary), in ticks.
    end_seconds: where every note ends at the latest (seconds, <= duration).
    phrase_ticks: length of a phrase in ticks. slot_ticks: length of a chord slot in ticks.
    slots: (start_tick, end_tick, chord index into Mode.chords), covering 0..final_tick,
           then the final tonic slot (final_tick, end_tick of the piece).
    """

    tick: float
    final_tick: int
    end_tick: int
    end_seconds: float
    phrase_ticks: int
    slot_ticks: int
    slots: tuple[tuple[int, int, int], ...]


def chords_per_bar(omega: float) -> float:
    """Harmonic rhythm: chord changes per bar, non-decreasing in |omega|."""
    a = abs(omega)
    return 0.5 if a < 0.5 else 1.0 if a < 3.0 else 2.0 if a < 6.0 else 4.0


def _phrase_chords(slots: int, phrase: int, mode: Mode, walk: np.ndarray) -> list[int]:
    """Chord indices of one phrase: the tonic on every other slot, walk-chosen chords between,
    then D -> T: the tonic is heard as home."""
    n_chords = len(mode.chords)
    middle = n_chords - 2
    out = []
    for s in range(slots):
        if s == slots - 2:
            out.append(n_chords - 1)
        elif s % 2 == 0 or s == slots - 1:
            out.append(0)
        else:
            out.append(1 + int(walk[(phrase * slots + s) % len(walk)] + phrase + s // 2) % middle)
    return out


def make_form(*, tempo: float, duration: float, omega: float, mode: Mode, n: int, k: int) -> Form:
    """Plan bars, phrases and chord slots for `duration` seconds at `tempo` BPM."""
    beat = 60.0 / tempo
    tick = beat / TICKS_PER_BEAT
    cpb = chords_per_bar(omega)
    phrase_bars = 8 if cpb < 1 else 4
    slot_ticks = int(TICKS_PER_BAR / cpb)
    phrase_ticks = phrase_bars * TICKS_PER_BAR
    slots_per_phrase = phrase_ticks // slot_ticks
    final_len = min(max(2.0 * beat, 1.0), 4.0, 0.6 * duration)
    final_tick = int(np.floor((duration - final_len) / beat + 1e-9)) * TICKS_PER_BEAT
    final_tick = max(0, final_tick)
    end_seconds = duration - min(0.5, 0.08 * duration)
    end_tick = max(final_tick + 1, int(np.ceil(end_seconds / tick)))
    n_phrases = final_tick // phrase_ticks + 1
    walk = walk_degrees(n, k, max(1, n_phrases * slots_per_phrase), mode)
    slots: list[tuple[int, int, int]] = []
    for phrase in range(n_phrases):
        chords = _phrase_chords(slots_per_phrase, phrase, mode, walk)
        for s, idx in enumerate(chords):
            start = phrase * phrase_ticks + s * slot_ticks
            if start >= final_tick:
                break
            slots.append((start, min(start + slot_ticks, final_tick), idx))
    if slots and slots[-1][2] != 0:  # the chord before the final tonic is the cadential one
        start, end, _ = slots[-1]
        slots[-1] = (start, end, len(mode.chords) - 1)
    slots.append((final_tick, end_tick, 0))
    return Form(tick=tick, final_tick=final_tick, end_tick=end_tick, end_seconds=end_seconds,
                phrase_ticks=phrase_ticks, slot_ticks=slot_ticks, slots=tuple(slots))
