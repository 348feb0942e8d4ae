"""The Score: the one structure of note events that every renderer consumes.

Audio (`engine.synth.score_to_samples`) and MIDI (`engine.midi.score_to_midi_bytes`) are two
renderings of one Score, so they always agree on notes, times and tempo. Times are seconds
from the start of the piece, pitches are MIDI note numbers, velocities are MIDI velocities.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Note:
    """One note event.

    start, end: seconds (0 <= start < end <= Score.duration).
    pitch: MIDI pitch 0..127 (for drum parts: the General MIDI percussion key, e.g. 36 kick).
    velocity: MIDI velocity 1..127.
    glide: semitones; the note starts this far from `pitch` and slides onto it over
        GLIDE_SECONDS (an 808 bass glide; the MIDI carries it as pitch bend). 0: no glide.
    """

    start: float
    end: float
    pitch: int
    velocity: int
    glide: int = 0


GLIDE_SECONDS = 0.09  #: seconds a gliding note takes to reach its pitch
BEND_RANGE = 12  #: semitones of MIDI pitch-bend range the MIDI file sets (RPN 0) for glides


@dataclass(frozen=True, slots=True)
class Part:
    """One voice: a General MIDI instrument and its notes, sorted by (start, pitch).

    name: role of the voice ("bass", "harmony", "melody", "drums", ...).
    program: General MIDI program number 0..127; for the drum part the GM drum kit
        (0 standard, 16 power, 24 electronic/909, 25 TR-808, 32 jazz, 40 brush, 48 orchestra).
    is_drum: True for the percussion part (MIDI channel 10).
    pan: stereo position -1.0 (left) .. +1.0 (right).
    """

    name: str
    program: int
    is_drum: bool
    pan: float
    notes: tuple[Note, ...]

    def arrays(self) -> dict[str, np.ndarray]:
        """The notes as parallel arrays: start/end (float64 s), pitch/velocity (int16)."""
        if not self.notes:
            empty_f, empty_i = np.zeros(0), np.zeros(0, np.int16)
            return {"start": empty_f, "end": empty_f, "pitch": empty_i, "velocity": empty_i}
        starts, ends, pitches, velocities = zip(*((n.start, n.end, n.pitch, n.velocity) for n in self.notes))
        return {
            "start": np.asarray(starts, np.float64),
            "end": np.asarray(ends, np.float64),
            "pitch": np.asarray(pitches, np.int16),
            "velocity": np.asarray(velocities, np.int16),
        }


@dataclass(frozen=True, slots=True)
class Effects:
    """Bus effects a style asks for (the audio renderer applies them; MIDI cannot carry them).

    reverb: scale of every voice's reverb send (0 dry .. 2 very wet; 1 as the voices set it).
    crackle: vinyl crackle and hiss level 0..1 (lo-fi); 0 none.
    tape: lo-fi tone 0..1: a bus low-pass from 16 kHz (0) down to 4.5 kHz (1).
    drive: bus saturation 0..1 (soft clipping before mastering); 0 none.
    """

    reverb: float = 1.0
    crackle: float = 0.0
    tape: float = 0.0
    drive: float = 0.0


@dataclass(frozen=True, slots=True)
class Score:
    """A whole piece.

    tempo: BPM (the MIDI tempo meta event; the beat grid when locked).
    duration: seconds; the audio is exactly round(duration * sr) frames.
    tonic: pitch class 0..11 of the key's tonic (0 = C), as set by psi.
    seed: 64-bit seed for any randomness a renderer needs (e.g. noise for percussion), taken
          from the spec hash so the same spec always gives the same samples.
    parts: the voices.
    meter: time signature (beats per bar, beat unit): (4, 4), (3, 4) or (6, 8).
    style: id of the style the piece was composed in ("" for none).
    effects: bus effects for the audio renderer.
    key: the key's name ("D minor", engine.keys), written to the MIDI as a key signature.
    loop: the piece repeats seamlessly: the audio renderer folds the sound ringing past the end
          onto the start and fades neither end; the MIDI marks the loop's start and end.
    """

    tempo: float
    duration: float
    tonic: int
    seed: int
    parts: tuple[Part, ...]
    meter: tuple[int, int] = (4, 4)
    style: str = ""
    effects: Effects = Effects()
    key: str = ""
    loop: bool = False

    def all_notes(self) -> list[Note]:
        """Every pitched (non-drum) note, sorted by start time."""
        return sorted((n for p in self.parts if not p.is_drum for n in p.notes), key=lambda n: (n.start, n.pitch))
