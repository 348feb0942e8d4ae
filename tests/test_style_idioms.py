"""Idioms a musician would name, read from the rendered MIDI of 60 s pieces (issue 8, part 2).

Each test renders a preset (or a style over a preset's geometry) to a MIDI file and measures it
as a listener's tools would: drum keys against the beat grid, programs of the tracks, chord
shapes, the swing of off-beats, tempo and time signature.
"""
from __future__ import annotations

import functools
import io

import mido
import musicanalysis as ma
import numpy as np
import pytest

from engine.presets import load_presets
from engine.render import render
from engine.resolve import resolve_request

CATALOG = load_presets()
KICK, SNARE, RIM, CLAP, HAT, OPEN_HAT, RIDE = 36, 38, 37, 39, 42, 46, 51
STRINGS, BRASS = range(48, 52), range(56, 64)


@functools.cache
def midi_bytes(preset: str, style: str | None = None, seconds: float = 60.0) -> bytes:
    spec = resolve_request(catalog=CATALOG, preset=preset, style=style, duration_seconds=seconds, format="midi")
    return render(spec)


def piece(preset: str, style: str | None = None) -> ma.Midi:
    return ma.read_midi(midi_bytes(preset, style))


def beat_of(m: ma.Midi) -> float:
    return 60.0 / m.tempo


def hits(m: ma.Midi, *keys: int) -> np.ndarray:
    drums = m.drums()
    return np.sort(drums.start[np.isin(drums.pitch, keys)])


def programs(preset: str, style: str | None = None) -> dict[str, int]:
    """Track name -> GM program, read from the MIDI file's program changes."""
    out = {}
    for track in mido.MidiFile(file=io.BytesIO(midi_bytes(preset, style))).tracks:
        name = next((msg.name for msg in track if msg.type == "track_name"), "")
        prog = next((msg.program for msg in track if msg.type == "program_change"), None)
        if prog is not None:
            out[name] = prog
    return out


def drum_bars(m: ma.Midi, meter_beats: int = 4) -> np.ndarray:
    """Indices of bars in which the kick drum plays at all (the drum sections)."""
    bar = beat_of(m) * meter_beats
    return np.unique(np.floor(hits(m, KICK) / bar + 1e-6).astype(int))


def position_in_beat(times: np.ndarray, beat: float) -> np.ndarray:
    return (times / beat) % 1.0


@pytest.mark.parametrize("preset", ["house", "techno", "trance", "disco"])
def test_four_on_the_floor(preset):
    m = piece(preset)
    beat = beat_of(m)
    kicks = hits(m, KICK)
    bars = drum_bars(m)[1:-1]  # whole bars between the first and the last
    beats_with_kick = {round(t / beat) for t in kicks if abs(t / beat - round(t / beat)) < 0.02}
    wanted = {4 * b + i for b in bars for i in range(4)}
    assert len(wanted) > 16
    assert len(wanted & beats_with_kick) >= 0.95 * len(wanted)  # a kick on every beat


@pytest.mark.parametrize("preset", ["jazz-cafe", "blues"])
def test_swung_eighths(preset):
    m = piece(preset)
    beat = beat_of(m)
    offbeats = position_in_beat(hits(m, RIDE, HAT, 44), beat)
    offbeats = offbeats[(offbeats > 0.3) & (offbeats < 0.9)]
    assert len(offbeats) > 20
    assert 0.6 <= float(np.median(offbeats)) <= 0.75  # the "and" lands late: swing


def test_jazz_walks_a_bass_under_seventh_chords():
    m = piece("jazz-cafe")
    beat = beat_of(m)
    bass = m.track("bass")
    on_beats = np.unique(np.round(bass.start / beat).astype(int))
    span = np.arange(on_beats.min(), on_beats.max())
    assert len(on_beats) >= 0.8 * len(span)  # a note on (nearly) every beat
    moves = np.abs(np.diff(bass.pitch))
    assert np.mean(moves <= 4) > 0.6  # walking: mostly steps and thirds, not root jumps
    harm = m.track("harmony")
    chords = [set(harm.pitch[harm.start == t] % 12) | set(bass.pitch[np.abs(bass.start - t) < 0.01] % 12)
              for t in np.unique(harm.start)]
    sevenths = [any((a - b) % 12 in (10, 11) for a in c for b in c) for c in chords if len(c) >= 3]
    assert np.mean(sevenths) > 0.5  # seventh (and ninth) chords
    assert programs("jazz-cafe")["bass"] == 32  # upright (acoustic) bass


def test_reggae_one_drop_and_skank():
    m = piece("reggae")
    beat = beat_of(m)
    bar = 4 * beat
    kicks = hits(m, KICK)
    body = kicks[kicks < m.end_time - 2 * bar]
    pos = (body % bar) / beat
    assert np.mean(np.isclose(pos, 2.0, atol=0.05)) > 0.9  # the kick drops on beat 3 ...
    assert not np.any(np.isclose(pos, 0.0, atol=0.05))  # ... never on the one
    harm = m.track("harmony")
    starts = np.unique(harm.start)
    beat_pos = (starts % bar) / beat
    skank = np.isclose(beat_pos, 1.0, atol=0.08) | np.isclose(beat_pos, 3.0, atol=0.08)
    assert np.mean(skank) > 0.6  # guitar chops on 2 and 4
    assert programs("reggae")["harmony"] in (27, 28)  # clean electric guitar


def test_trap_half_time_snare_rolls_and_808_glides():
    m = piece("trap")
    beat = beat_of(m)
    bar = 4 * beat
    snares = hits(m, SNARE, CLAP)
    pos = (snares % bar) / beat
    assert np.mean(np.isclose(pos, 2.0, atol=0.05)) > 0.7  # half time: the snare on beat 3
    hats = hits(m, HAT)
    gaps = np.diff(hats) / beat
    rolls = np.isclose(gaps, 1 / 8, atol=0.01) | np.isclose(gaps, 1 / 6, atol=0.01) | np.isclose(gaps, 1 / 12, atol=0.01)
    assert np.sum(rolls) > 10  # 32nd and triplet hat rolls
    assert programs("trap")["bass"] == 39
    bends = [msg for track in mido.MidiFile(file=io.BytesIO(midi_bytes("trap"))).tracks
             if any(getattr(msg, "name", "") == "bass" for msg in track) for msg in track if msg.type == "pitchwheel"]
    assert any(msg.pitch != 0 for msg in bends)  # 808 glides


def test_drum_and_bass_two_step_at_speed():
    m = piece("drum-and-bass")
    assert 160 <= m.tempo <= 180
    beat = beat_of(m)
    bar = 4 * beat
    body = m.end_time - 2 * bar  # before the final hit
    kicks = (hits(m, KICK)[hits(m, KICK) < body] % bar) / beat
    assert np.mean(np.isclose(kicks, 0.0, atol=0.05) | np.isclose(kicks, 2.5, atol=0.05)) > 0.55
    assert not np.any(np.isclose(kicks, 1.0, atol=0.05) | np.isclose(kicks, 3.0, atol=0.05))
    snare_times = hits(m, SNARE)
    bars = np.unique(np.floor(snare_times[snare_times < body] / bar).astype(int))
    backbeat = [all(np.any(np.isclose(snare_times, b * bar + k * beat, atol=0.01)) for k in (1, 3)) for b in bars]
    assert np.mean(backbeat) > 0.8  # the snare on 2 and 4 of (nearly) every bar


def test_bossa_nova_clave_and_nylon_guitar():
    m = piece("bossa-nova")
    beat = beat_of(m)
    bar = 4 * beat
    rim = np.round(((hits(m, RIM) % bar) / beat) * 4).astype(int)  # 16th positions in the bar
    assert set(np.unique(rim).tolist()) >= {0, 3, 6, 10, 13}  # the bossa clave
    assert programs("bossa-nova")["harmony"] == 24  # nylon guitar


@pytest.mark.parametrize("preset", ["rock", "metal"])
def test_distorted_power_chords(preset):
    m = piece(preset)
    assert programs(preset)["harmony"] in (29, 30)
    harm = m.track("harmony")
    shapes = [tuple(np.diff(sorted(harm.pitch[harm.start == t]))) for t in np.unique(harm.start)]
    power = [s for s in shapes if s in ((7, 5), (6, 6), (8, 4))]
    assert len(power) >= 0.8 * len(shapes)  # root, fifth, octave


def test_metal_double_kick():
    m = piece("metal")
    gaps = np.diff(hits(m, KICK)) / beat_of(m)
    runs = np.convolve(np.isclose(gaps, 0.25, atol=0.01).astype(int), np.ones(4, int), "valid")
    assert np.any(runs == 4)  # runs of 16th-note kicks


@pytest.mark.parametrize("preset", ["epic", "cinematic", "trailer"])
def test_orchestral_strings_brass_timpani(preset):
    progs = set(programs(preset).values())
    assert progs & set(STRINGS) and progs & set(BRASS) and 47 in progs


def test_lofi_e_piano_and_dusty_swing():
    progs = programs("lofi")
    assert {progs["harmony"], progs["melody"]} & {4, 5}
    m = piece("lofi")
    beat = beat_of(m)
    offbeats = position_in_beat(hits(m, HAT), beat)
    last_sixteenths = offbeats[(offbeats > 0.55) & (offbeats < 0.95)]  # the "a" of each beat
    assert len(last_sixteenths) > 8 and float(np.median(last_sixteenths)) > 0.77  # late: swung 16ths
    spec = resolve_request(catalog=CATALOG, preset="lofi", duration_seconds=5.0)
    from engine.compose import params_to_score
    assert params_to_score(spec).effects.crackle > 0  # vinyl crackle in the mix


def test_chiptune_square_lead():
    assert programs("chiptune")["melody"] == 80


def test_celtic_fiddle_whistle_and_a_jig():
    progs = programs("celtic")
    assert progs["melody"] in (110, 73, 78) and progs.get("counter") in (73, 78)
    meters = [(msg.numerator, msg.denominator) for track in mido.MidiFile(file=io.BytesIO(midi_bytes("celtic"))).tracks
              for msg in track if msg.type == "time_signature"]
    assert (6, 8) in meters


@pytest.mark.parametrize("preset", ["ambient", "calm", "meditation", "classical", "drone", "lullaby"])
def test_no_drum_kit(preset):
    m = piece(preset)
    assert len(m.drums().start) == 0


def test_every_drum_style_has_its_kit_and_every_preset_its_style():
    for preset in CATALOG:
        spec = resolve_request(catalog=CATALOG, preset=preset.id, duration_seconds=2.0)
        assert spec.style_id == preset.style
