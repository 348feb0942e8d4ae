"""score_to_midi_bytes read back with mido and pretty_midi: type, tracks, tempo, programs,
drum channel, note times, byte-identity."""
from __future__ import annotations

import io

import mido
import pretty_midi
import pytest
from test_synth_scores import cadence

from engine.midi import RESOLUTION, score_to_midi_bytes
from engine.score import Note, Part, Score


def read(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))


def test_type_1_with_a_track_per_part():
    score = cadence(4.0)
    mid = read(score_to_midi_bytes(score))
    assert mid.type == 1 and mid.ticks_per_beat == RESOLUTION
    names = [t.name for t in mid.tracks[1:]]
    assert len(mid.tracks) == len(score.parts) + 1 and names == [p.name for p in score.parts]


@pytest.mark.parametrize("tempo", [40.0, 97.3, 120.0, 123.457, 300.0])
def test_tempo_meta_equals_score_tempo(tempo):
    mid = read(score_to_midi_bytes(cadence(2.0, tempo=tempo)))
    tempos = [m.tempo for t in mid.tracks for m in t if m.type == "set_tempo"]
    assert tempos == [round(60_000_000 / tempo)]
    assert abs(mido.tempo2bpm(tempos[0]) - tempo) < 1e-3


def test_programs_and_drum_channel():
    score = cadence(2.0, programs=(33, 4, 73, 89))
    mid = read(score_to_midi_bytes(score))
    for part, track in zip(score.parts, mid.tracks[1:]):
        channels = {m.channel for m in track if m.type == "note_on"}
        programs = [m.program for m in track if m.type == "program_change"]
        if part.is_drum:
            assert channels == {9}
        else:
            assert 9 not in channels and programs == [part.program]
    pm = pretty_midi.PrettyMIDI(io.BytesIO(score_to_midi_bytes(score)))
    assert [i.is_drum for i in pm.instruments] == [p.is_drum for p in score.parts]


def test_notes_and_times_agree_within_a_tick():
    score = cadence(6.0, tempo=97.3)
    pm = pretty_midi.PrettyMIDI(io.BytesIO(score_to_midi_bytes(score)))
    tick = 60.0 / (97.3 * RESOLUTION)
    for part, inst in zip(score.parts, pm.instruments):
        got = sorted((n.start, n.end, n.pitch, n.velocity) for n in inst.notes)
        want = sorted((n.start, n.end, n.pitch, n.velocity) for n in part.notes)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g[2:] == w[2:]
            assert abs(g[0] - w[0]) <= tick and abs(g[1] - w[1]) <= tick


@pytest.mark.parametrize("tempo", [40.0, 111.0, 137.5, 300.0])
def test_sixteenth_grid_is_exact_in_ticks(tempo):
    sixteenth = 15.0 / tempo
    notes = tuple(Note(k * sixteenth, (k + 1) * sixteenth, 60 + k % 12, 90) for k in range(37))
    score = Score(tempo, 37 * sixteenth + 0.5, 0, 1, (Part("melody", 0, False, 0.0, notes),))
    mid = read(score_to_midi_bytes(score))
    now, onsets = 0, []
    for m in mid.tracks[1]:
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            onsets.append(now)
    assert onsets == [k * RESOLUTION // 4 for k in range(37)]


def test_midi_ends_by_the_duration():
    score = cadence(5.0)
    pm = pretty_midi.PrettyMIDI(io.BytesIO(score_to_midi_bytes(score)))
    assert pm.get_end_time() <= score.duration + 1e-3


def test_byte_identical_and_no_timestamps():
    a = score_to_midi_bytes(cadence(3.0))
    assert a == score_to_midi_bytes(cadence(3.0))
    assert a[:4] == b"MThd"


def test_empty_part_still_gets_a_track():
    score = Score(120.0, 2.0, 0, 1, (Part("melody", 0, False, 0.0, ()), Part("bass", 33, False, 0.0,
                                                                               (Note(0.0, 1.0, 36, 90),))))
    mid = read(score_to_midi_bytes(score))
    assert [t.name for t in mid.tracks[1:]] == ["melody", "bass"]
