"""Score -> Standard MIDI File bytes (type 1), via pretty_midi.

One track per Part (named after the part, with its General MIDI program; the drum part on
channel 10), plus the tempo track pretty_midi writes first. The tempo meta event is the Score's
tempo (as exactly as microseconds per beat allow). Times are quantised to RESOLUTION ticks per
beat, so onsets on a 16th-note grid land exactly on ticks. No timestamps: the same Score
always gives the same bytes.
"""
from __future__ import annotations

import io

import mido
import pretty_midi

from engine.score import Score

RESOLUTION = 960  #: ticks per quarter note (divisible by 4, 3 and 5: 16ths and triplets are exact)


def score_to_midi_bytes(score: Score) -> bytes:
    """The Score as a type 1 MIDI file (bytes)."""
    pm = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=float(score.tempo))
    for part in score.parts:
        inst = pretty_midi.Instrument(program=0 if part.is_drum else int(part.program) % 128,
                                      is_drum=bool(part.is_drum), name=part.name)
        for note in part.notes:
            start, end = float(note.start), float(note.end)
            if end <= start:
                continue
            inst.notes.append(pretty_midi.Note(velocity=max(1, min(127, int(note.velocity))),
                                               pitch=max(0, min(127, int(note.pitch))),
                                               start=start, end=end))
        pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return _exact_tempo(buf.getvalue(), score.tempo)


def _exact_tempo(data: bytes, tempo: float) -> bytes:
    """Rewrite the set_tempo event to round(60e6 / tempo) us per beat (pretty_midi truncates)."""
    mid = mido.MidiFile(file=io.BytesIO(data))
    want = round(60_000_000 / float(tempo))
    changed = False
    for track in mid.tracks:
        for i, msg in enumerate(track):
            if msg.type == "set_tempo" and msg.tempo != want:
                track[i] = msg.copy(tempo=want)
                changed = True
    if not changed:
        return data
    out = io.BytesIO()
    mid.save(file=out)
    return out.getvalue()
