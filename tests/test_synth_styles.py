"""The sound of the styles, measured from the audio as a listener's tools would (issue 8, part 6):
drums heard where the MIDI has kicks and snares, spectra that roll off in the top octave, kits
that differ, a distorted guitar, and the lo-fi vinyl."""
from __future__ import annotations

import dataclasses

import musicanalysis as ma
import numpy as np
import pytest

from engine.compose import params_to_score
from engine.presets import load_presets
from engine.resolve import resolve_request
from engine.score import Effects, Note, Part, Score
from engine.synth import score_to_samples

SR = 44100
CATALOG = load_presets()


def score_of(preset: str, seconds: float = 20.0) -> Score:
    return params_to_score(resolve_request(catalog=CATALOG, preset=preset, duration_seconds=seconds))


def mono(score: Score) -> np.ndarray:
    return score_to_samples(score, sr=SR).mean(axis=1)


def band_energy(y: np.ndarray, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return float(spectrum[(freqs >= lo) & (freqs < hi)].sum())


def audio_onsets(y: np.ndarray) -> np.ndarray:
    env, fps = ma.onset_envelope(y, SR)
    threshold = np.median(env) + 2 * np.std(env)
    peaks = np.flatnonzero((env[1:-1] > threshold) & (env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:])) + 1
    return peaks / fps


@pytest.mark.parametrize("preset", ["house", "hip-hop", "jazz-cafe", "reggae", "rock", "trap"])
def test_drums_are_heard_where_the_midi_has_kicks_and_snares(preset):
    score = score_of(preset)
    drums = next(p for p in score.parts if p.is_drum)
    hits = np.array([n.start for n in drums.notes if n.pitch in (35, 36, 38, 39, 40)])
    onsets = audio_onsets(mono(score))
    found = np.mean([np.any(np.abs(onsets - t) < 0.05) for t in hits])
    assert found >= 0.65, found


@pytest.mark.parametrize("preset", ["house", "rock", "jazz-cafe", "trap", "epic", "chiptune"])
def test_spectra_roll_off_in_the_top_octave(preset):
    y = mono(score_of(preset, 10.0))
    top, presence = band_energy(y, 12000, 22050), band_energy(y, 2000, 6000)
    assert 10 * np.log10(top / presence) < -8.0  # not flat to Nyquist: no buzzy edge


def one_hit(kit: int, key: int) -> np.ndarray:
    part = Part("drums", kit, True, 0.0, (Note(0.0, 0.1, key, 110),))
    return score_to_samples(Score(120.0, 1.5, 0, 7, (part,)), sr=SR).mean(axis=1)


def test_the_808_kick_booms_longer_than_the_acoustic_one():
    def tail(y: np.ndarray) -> float:
        return float(np.sqrt(np.mean(y[int(0.3 * SR): int(0.6 * SR)] ** 2)) / np.sqrt(np.mean(y[:int(0.1 * SR)] ** 2)))

    assert tail(one_hit(25, 36)) > 2.0 * tail(one_hit(0, 36))


def test_brushes_swish_instead_of_crack():
    def attack_s(y: np.ndarray) -> float:
        frame = int(0.004 * SR)
        head = y[: int(0.2 * SR) // frame * frame].reshape(-1, frame)
        env = np.sqrt(np.mean(head ** 2, axis=1))  # 4 ms RMS frames
        return float(np.argmax(env >= 0.9 * env.max()) * frame / SR)

    assert attack_s(one_hit(40, 38)) > 2.0 * attack_s(one_hit(0, 38))


def note(program: int, pitch: int, seconds: float = 1.0) -> np.ndarray:
    part = Part("solo", program, False, 0.0, (Note(0.0, seconds, pitch, 100),))
    return score_to_samples(Score(120.0, seconds + 0.5, 0, 7, (part,)), sr=SR).mean(axis=1)[: int(seconds * SR)]


def test_the_distorted_guitar_is_rich_but_cabinet_filtered():
    clean, dist = note(27, 40), note(30, 40)

    def harmonic_share(y: np.ndarray) -> float:
        return band_energy(y, 1000, 5000) / band_energy(y, 50, 22050)

    assert harmonic_share(dist) > 1.5 * harmonic_share(clean)  # waveshaping adds harmonics
    assert band_energy(dist, 9000, 22050) < 0.01 * band_energy(dist, 500, 4000)  # the cabinet


def test_lofi_has_vinyl_crackle_and_a_worn_top():
    score = score_of("lofi", 8.0)
    assert score.effects.crackle > 0 and score.effects.tape > 0
    dry = dataclasses.replace(score, effects=Effects())
    with_fx, without = mono(score), mono(dry)
    assert not np.allclose(with_fx, without)
    ratio = band_energy(with_fx, 9000, 22050) / band_energy(with_fx, 500, 4000)
    assert ratio < band_energy(without, 9000, 22050) / band_energy(without, 500, 4000)  # the tape's top


def test_an_808_glide_slides_into_its_pitch():
    def pitch_track(y: np.ndarray) -> list[float]:
        out = []
        for a in range(0, int(0.3 * SR), 2048):
            seg = y[a: a + 4096] * np.hanning(4096)
            spectrum = np.abs(np.fft.rfft(seg, 1 << 16))
            out.append(np.argmax(spectrum) * SR / (1 << 16))
        return out

    glide = Part("bass", 39, False, 0.0, (Note(0.0, 1.0, 36, 110, glide=7),))
    track = pitch_track(score_to_samples(Score(140.0, 1.5, 0, 7, (glide,)), sr=SR).mean(axis=1))
    target = 440.0 * 2 ** ((36 - 69) / 12)
    assert track[0] > target * 1.2  # starts a fifth above ...
    assert abs(track[-1] - target) < target * 0.03  # ... and lands on C2
