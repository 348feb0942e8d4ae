"""Named keys and variations (issue 9, parts 2 and 4): parsed, heard, written, and kept out of
the ids of requests that do not use them."""
from __future__ import annotations

import io

import mido
import musicanalysis as ma
import numpy as np
import pytest

from engine.compose import params_to_score
from engine.errors import ParameterError
from engine.keys import parse_key
from engine.midi import score_to_midi_bytes
from engine.presets import load_presets
from engine.render import render
from engine.resolve import resolve_request
from engine.spec import RenderSpec
from engine.synth import score_to_samples

CATALOG = load_presets()
GEOMETRY = {"n": 24, "k": 10, "omega": 2.0, "xi": 1.5, "psi": 0.0, "lock_psi_tau": True}


@pytest.mark.parametrize(("text", "tonic", "mode", "name"), [
    ("D minor", 2, "minor", "D minor"), ("F#", 6, "major", "F# major"), ("Bb major", 10, "major", "Bb major"),
    ("C# dorian", 1, "dorian", "C# dorian"), ("eb minor", 3, "minor", "Eb minor"), ("g mixolydian", 7, "mixolydian",
                                                                                     "G mixolydian"),
    ("A", 9, "major", "A major"), ("e phrygian", 4, "phrygian", "E phrygian"), ("Db lydian", 1, "lydian", "C# lydian"),
])
def test_keys_are_read_by_name(text, tonic, mode, name):
    key = parse_key(text)
    assert (key.tonic, key.mode, key.name) == (tonic, mode, name)


@pytest.mark.parametrize("bad", ["H minor", "D locrian", "", "minor", "C##", 5, None, "D minor please"])
def test_a_bad_key_names_the_field(bad):
    with pytest.raises(ParameterError) as info:
        parse_key(bad)
    assert info.value.field == "key" and "D minor" in str(info.value)


def test_a_key_overrides_psi_and_the_sign_of_xi():
    spec = resolve_request(catalog=CATALOG, params=GEOMETRY, key="D minor")
    assert spec.key == "D minor" and spec.tonic == 2
    assert spec.params["psi"] == pytest.approx(2 * np.pi * 2 / 12, abs=1e-6) and spec.params["xi"] == -1.5
    major = resolve_request(catalog=CATALOG, params={**GEOMETRY, "xi": -3.0}, key="F#")
    assert major.params["xi"] == 3.0 and major.tonic == 6


@pytest.mark.parametrize(("key", "tonic", "mode"), [("D minor", 2, "minor"), ("F# major", 6, "major"),
                                                     ("Bb major", 10, "major"), ("C# dorian", 1, None),
                                                     ("E phrygian", 4, None)])
def test_the_key_is_heard_in_the_midi_and_in_the_audio(key, tonic, mode):
    spec = resolve_request(catalog=CATALOG, params=GEOMETRY, key=key, duration_seconds=20.0)
    score = params_to_score(spec)
    midi = ma.read_midi(score_to_midi_bytes(score))
    found = ma.estimate_key(ma.pc_histogram(midi.pitched()))
    assert found[0] == tonic and (mode is None or found[1] == mode)
    if mode is not None:  # major/minor keys: the audio's key-finder agrees (church modes puzzle it)
        heard = ma.estimate_key(ma.audio_chroma(score_to_samples(score), 44100))
        assert heard[:2] == (tonic, mode)


def test_the_midi_carries_the_key_signature():
    data = render(resolve_request(catalog=CATALOG, params=GEOMETRY, key="D minor", duration_seconds=2.0,
                                  format="midi"))
    keys = [msg.key for track in mido.MidiFile(file=io.BytesIO(data)).tracks for msg in track
            if msg.type == "key_signature"]
    assert keys == ["Dm"]
    plain = render(resolve_request(catalog=CATALOG, params={**GEOMETRY, "psi": 2 * np.pi * 7 / 12},
                                   duration_seconds=2.0, format="midi"))
    assert [msg.key for track in mido.MidiFile(file=io.BytesIO(plain)).tracks for msg in track
            if msg.type == "key_signature"] == ["G"]


def test_defaults_stay_out_of_the_id():
    base = RenderSpec(**GEOMETRY)
    assert RenderSpec(**GEOMETRY, variation=0).id == base.id == RenderSpec(**GEOMETRY, key=None).id
    assert "variation" not in base.to_dict() and "key" not in base.to_dict()
    assert RenderSpec(**GEOMETRY, variation=1).id != base.id
    assert RenderSpec(**GEOMETRY, key="C major").id != base.id  # a named key is a request of its own


@pytest.mark.parametrize("bad", [-1, 2**31, 1.5, "2", True])
def test_a_bad_variation_names_the_field(bad):
    with pytest.raises(ParameterError) as info:
        RenderSpec(**GEOMETRY, variation=bad)
    assert info.value.field == "variation"


def test_variations_are_other_takes_in_the_same_idiom():
    takes = [params_to_score(resolve_request(catalog=CATALOG, preset="house", variation=v, duration_seconds=40.0))
             for v in (0, 1, 2)]
    melodies = [tuple(n.pitch for n in next(p for p in s.parts if p.name == "melody").notes) for s in takes]
    assert len(set(melodies)) == 3  # other melodies
    for score in takes:  # the same style, tempo, key and four on the floor
        assert score.style == "house" and score.tempo == takes[0].tempo and score.key == takes[0].key
        kicks = sorted({round(n.start / (60 / score.tempo), 3) for p in score.parts if p.is_drum
                        for n in p.notes if n.pitch == 36})
        whole = [b for b in kicks if b == int(b)]
        assert len(whole) >= 0.8 * (max(kicks) - min(kicks))
    drums = [tuple((n.start, n.pitch) for n in next(p for p in s.parts if p.is_drum).notes) for s in takes]
    assert drums[0] != drums[1]  # other fills
    take = resolve_request(catalog=CATALOG, preset="house", variation=1, duration_seconds=3.0)
    assert render(take) == render(take)  # the same take is the same bytes
