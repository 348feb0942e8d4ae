"""Score -> Standard MIDI File bytes (type 1), via pretty_midi.

One track per Part (named after the part, with its General MIDI program; the drum part on
channel 10 with its kit as the program), plus the tempo track pretty_midi writes first, with a
time-signature event for the Score's meter and a key-signature event for its key. Gliding notes (Note.glide) carry pitch bend: the
part's bend range is set to BEND_RANGE semitones (RPN 0) and each glide bends from its offset
back to 0 over GLIDE_SECONDS. A loop carries "loopStart" and "loopEnd" markers at its first
and last tick. The tempo meta event is the Score's
tempo (as exactly as microseconds per beat allow). Times are quantised to RESOLUTION ticks per
beat, so onsets on a 16th-note grid land exactly on ticks. No timestamps: the same Score
always gives the same bytes.
"""
from __future__ import annotations

import io

import mido
import pretty_midi

from engine.keys import parse_key
from engine.score import BEND_RANGE, GLIDE_SECONDS, Part, Score

RESOLUTION = 960  #: ticks per quarter note (divisible by 4, 3 and 5: 16ths and triplets are exact)
GLIDE_STEPS = 6  #: pitch-bend messages per glide


def score_to_midi_bytes(score: Score) -> bytes:
    """The Score as a type 1 MIDI file (bytes)."""
    pm = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=float(score.tempo))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(int(score.meter[0]), int(score.meter[1]), 0.0))
    if score.key:
        pm.key_signature_changes.append(pretty_midi.KeySignature(parse_key(score.key).midi_key_number, 0.0))
    for part in score.parts:
        inst = pretty_midi.Instrument(program=int(part.program) % 128, is_drum=bool(part.is_drum), name=part.name)
        _glides(inst, part)
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
    data = _exact_tempo(buf.getvalue(), score.tempo)
    return _loop_markers(data, score) if score.loop else data


def _glides(inst: pretty_midi.Instrument, part: Part) -> None:
    """Pitch bends for the part's gliding notes (and the RPN setting the bend range first)."""
    glides = [n for n in part.notes if n.glide]
    if not glides or part.is_drum:
        return
    for number, value in ((101, 0), (100, 0), (6, BEND_RANGE), (38, 0)):  # RPN 0: bend range
        inst.control_changes.append(pretty_midi.ControlChange(number, value, 0.0))
    for note in glides:
        span = min(GLIDE_SECONDS, note.end - note.start)
        for i in range(GLIDE_STEPS + 1):
            left = note.glide * (1.0 - i / GLIDE_STEPS)
            value = max(-8192, min(8191, round(left / BEND_RANGE * 8191)))
            inst.pitch_bends.append(pretty_midi.PitchBend(value, float(note.start + span * i / GLIDE_STEPS)))


def _loop_markers(data: bytes, score: Score) -> bytes:
    """Mark a loop: markers "loopStart" at tick 0 and "loopEnd" at its last tick (whole bars),
    where the tempo track also ends, so a sequencer's loop and the file's length are the loop's.
    Events that seconds-to-ticks rounding put past the end are moved onto it."""
    mid = mido.MidiFile(file=io.BytesIO(data))
    end = round(score.duration * score.tempo / 60.0 * RESOLUTION)
    for i, track in enumerate(mid.tracks):
        events, t = [], 0
        for msg in track:  # absolute ticks
            t += msg.time
            if msg.type != "end_of_track":
                events.append((min(t, end), msg))
        if i == 0:
            events += [(0, mido.MetaMessage("marker", text="loopStart")),
                       (end, mido.MetaMessage("marker", text="loopEnd"))]
        events.sort(key=lambda e: e[0])  # stable: what shares a tick keeps its order
        track.clear()
        last = 0
        for at, msg in events:
            track.append(msg.copy(time=at - last))
            last = at
        track.append(mido.MetaMessage("end_of_track", time=end - last if i == 0 else 0))
    out = io.BytesIO()
    mid.save(file=out)
    return out.getvalue()


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
