"""Composition: a RenderSpec -> a Score (the single source for audio and MIDI), in a style.

The style (engine/data/styles.yaml; the spec's, else the geometry's) sets meter, feel, form,
instruments, drum grooves, bass and comping patterns, progressions and melody character. The
geometry keeps its meanings inside it:

    n, k   scale family from the generator 12*k/n (scales.py): every note is a scale tone; the
           generator is the melody's characteristic leap; phrases cycle through n/gcd(n, k)
           variants; larger n adds chord extensions and (n >= 48) an arpeggio voice.
    omega  |omega|: melody notes per bar, chord changes per bar, busier grooves;
           sign: the melodic contour rises (> 0) or falls (< 0) through each phrase.
    xi     |xi|: register width and dynamic range; sign: major-like (>= 0) / minor-like mode.
    psi    tonic pitch class (spec.tonic): the bass and the cadences establish it; a named key
           (spec.key) sets the tonic and the mode instead.
    variation  another take: other motifs and rhythms, voicings and fills, same idiom and meanings.
    lock_psi_tau  True: onsets on the style's grid, with its drum kit; False: free timing, no drums.
    tempo, duration_seconds  BPM and seconds; every note ends by the end of the piece.
    loop       whole bars, no intro, outro or final cadence; the last bar leads into the first.

Deterministic: all randomness comes from numpy.random.default_rng(spec.seed).
"""
from __future__ import annotations

import numpy as np

from engine.compose.bass import bass_notes
from engine.compose.comping import comping_notes, pad_notes
from engine.compose.drums import drum_notes, kick_ticks
from engine.compose.form import Form, make_form
from engine.compose.harmony import extension_for
from engine.compose.melody import (
    arpeggio_notes,
    counter_notes,
    melody_notes,
    timpani_notes,
)
from engine.compose.notes import NoteList
from engine.compose.perform import build_part, to_seconds, velocities
from engine.compose.scales import mode_for
from engine.score import Effects, Part, Score
from engine.spec import RenderSpec
from engine.styles import Style, get_style

__all__ = ["params_to_score"]

ARPEGGIO_PROGRAMS = (46, 8, 108)  #: harp, celesta, kalimba: the large-n texture voice
PAD_SECTIONS = {"chorus", "drop", "bridge"}  #: where a held pad joins the comping
COUNTER_SECTIONS = {"chorus", "drop", "solo"}
ARPEGGIO_SECTIONS = {"chorus", "drop", "solo"}
#: role -> (base velocity, pan -1..1, timing lag in seconds in free time)
VOICING = {"bass": (92, 0.0, 0.012), "harmony": (66, -0.3, 0.0), "pad": (52, 0.35, 0.0),
           "melody": (94, 0.15, 0.0), "counter": (74, -0.45, 0.0), "timpani": (92, -0.2, 0.0),
           "arpeggio": (56, 0.55, 0.0), "drums": (100, 0.0, 0.0)}


def _perform(name: str, program: int, notes: NoteList, form: Form, style: Style, *, locked: bool,
             xi: float, rng: np.random.Generator, is_drum: bool = False) -> Part | None:
    if not len(notes):
        return None
    base, pan, lag = VOICING[name]
    arrays = notes.arrays()
    start, end = to_seconds(arrays, form, style, locked=locked, lag=lag, rng=rng)
    vel = velocities(arrays, form, base=base, xi=xi, rng=rng)
    part = build_part(name, program, pan, start=start, end=end, pitch=arrays["pitch"], velocity=vel,
                      glide=arrays["glide"], is_drum=is_drum)
    return part if part.notes else None


def _tie_into_top(notes: NoteList, form: Form) -> None:
    """A loop's voice whose last notes stop within the last beat holds them to the end, so the
    sound runs on into the top as it runs on over any bar line (a longer rest is left as it is)."""
    if not len(notes):
        return
    last = max(notes.end)
    if form.end_tick - form.pulse <= last < form.end_tick:
        notes.end = [form.end_tick if e == last else e for e in notes.end]


def params_to_score(spec: RenderSpec) -> Score:
    """Compose the piece for `spec`: tempo BPM, times in seconds, MIDI pitches and velocities."""
    rng = np.random.default_rng(spec.seed)
    style = get_style(spec.style_id)
    locked = spec.lock_psi_tau
    key = spec.musical_key
    mode = mode_for(spec.n, spec.k, spec.xi, key.mode if spec.key is not None else None)
    tonic = spec.tonic
    ext = extension_for(style.extension, spec.n)
    form = make_form(style, tempo=spec.tempo, duration=spec.seconds, omega=spec.omega,
                     meter=style.meter, loop=spec.loop)
    inst = style.instruments
    take = spec.variation
    drums = drum_notes(form, style, omega=spec.omega, variation=take) if locked and style.kit is not None else NoteList()
    melody = melody_notes(form, style, mode, tonic=tonic, extension=ext, n=spec.n, k=spec.k,
                          omega=spec.omega, xi=spec.xi, rng=rng, variation=take)
    voices: list[tuple[str, int, NoteList]] = [
        ("bass", inst["bass"], bass_notes(form, style, mode, tonic=tonic, extension=ext, omega=spec.omega,
                                          xi=spec.xi, kick_ticks=np.asarray(kick_ticks(drums)), rng=rng)),
        ("harmony", inst["harmony"], comping_notes(form, style, mode, tonic=tonic, extension=ext,
                                                   omega=spec.omega, xi=spec.xi, locked=locked, variation=take)),
        ("melody", inst["melody"], melody),
    ]
    if "pad" in inst and style.comping != "pad":  # a pad-comping style is its own pad
        voices.append(("pad", inst["pad"], pad_notes(form, style, mode, tonic=tonic, extension=ext,
                                                           sections=PAD_SECTIONS)))
    if "counter" in inst:
        voices.append(("counter", inst["counter"], counter_notes(melody, form, mode, tonic=tonic,
                                                                 sections=COUNTER_SECTIONS)))
    if "timpani" in inst:
        voices.append(("timpani", inst["timpani"], timpani_notes(form, mode, tonic=tonic)))
    if spec.n >= 48:
        used = set(inst.values())
        program = next((p for p in ARPEGGIO_PROGRAMS if p not in used), ARPEGGIO_PROGRAMS[0])
        voices.append(("arpeggio", program, arpeggio_notes(form, mode, tonic=tonic, extension=ext,
                                                           omega=spec.omega, sections=ARPEGGIO_SECTIONS)))
    if form.loop:
        for _, _, notes in voices:
            _tie_into_top(notes, form)
    parts = [p for name, program, notes in voices
             if (p := _perform(name, program, notes, form, style, locked=locked, xi=spec.xi, rng=rng))]
    if len(drums):
        part = _perform("drums", style.kit or 0, drums, form, style, locked=True, xi=spec.xi, rng=rng, is_drum=True)
        if part:
            parts.append(part)
    effects = Effects(**{k: float(v) for k, v in style.mix.items()})
    return Score(tempo=spec.tempo, duration=spec.seconds, tonic=tonic, seed=spec.seed,
                 parts=tuple(parts), meter=style.meter, style=style.id, effects=effects, key=key.name,
                 loop=spec.loop)
