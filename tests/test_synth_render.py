"""score_to_samples measured from the outside: length, loudness, peaks, DC, gaps, clicks,
stereo, timbre, drums, determinism (in-process and across processes)."""
from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from test_synth_scores import (
    SR,
    cadence,
    click_score,
    decode_wav,
    harmonic_profile,
    longest_silence,
    one_note,
    spectral_centroid,
    true_peak_dbtp,
)

from engine.encode import samples_to_wav_bytes
from engine.score import Effects, Note, Part, Score
from engine.synth import score_to_samples

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def full() -> np.ndarray:
    return score_to_samples(cadence(12.0))


@pytest.fixture(scope="module")
def full_wav(full) -> np.ndarray:
    return decode_wav(samples_to_wav_bytes(full, sr=SR))


@pytest.mark.parametrize("duration", [1.0, 2.5, 5.0, 30.0, 7.123])
def test_exact_frame_count_dtype_and_layout(duration):
    y = score_to_samples(cadence(duration))
    assert y.shape == (round(duration * SR), 2)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    assert np.isfinite(y).all()


def test_frame_count_when_notes_ring_past_the_end():
    score = Score(120.0, 1.5, 0, 1, (Part("pad", 89, False, 0.0, (Note(0.0, 1.5, 60, 100),)),))
    y = score_to_samples(score)
    assert y.shape == (round(1.5 * SR), 2)
    assert np.max(np.abs(y[-10:])) < 1e-3  # faded at the very end, not cut


@pytest.mark.parametrize("score", [cadence(12.0), cadence(6.0, drums=False, programs=(38, 4, 81, 48)),
                                   one_note(0, duration=3.0), cadence(4.0, tempo=70.0, programs=(32, 11, 56, 52))],
                         ids=["cadence", "synths", "one-note", "slow"])
def test_loudness_and_true_peak_on_decoded_wav(score):
    y = decode_wav(samples_to_wav_bytes(score_to_samples(score), sr=SR))
    lufs = pyloudnorm.Meter(SR).integrated_loudness(y)
    assert -15.0 <= lufs <= -13.0
    assert true_peak_dbtp(y) <= -1.0
    assert np.max(np.abs(y)) < 32767 / 32768  # nothing at full scale


def test_no_dc_offset(full_wav):
    assert np.all(np.abs(full_wav.mean(axis=0)) < 1e-3)


def test_no_silent_gap_while_notes_sound(full_wav):
    assert longest_silence(full_wav) < 1.0


def test_longest_silence_detects_a_gap():
    y = np.full((SR * 3, 2), 0.1)
    y[SR: SR + int(1.5 * SR)] = 0.0
    assert longest_silence(y) >= 1.4


def test_no_clicks_at_note_boundaries():
    # staccato and legato notes of several voices, no drums: every edge must be smooth
    y = score_to_samples(cadence(6.0, drums=False, programs=(33, 0, 81, 48)))
    assert click_score(y) < 30.0


def test_click_measure_detects_a_cut():
    t = np.arange(SR) / SR
    y = 0.3 * np.sin(2 * np.pi * 220 * t)
    smooth = click_score(y * np.hanning(SR))
    cut = y.copy()
    cut[SR // 2:] = 0.0  # a note cut off mid-cycle
    assert smooth < 30.0 < click_score(cut)


def test_stereo_is_stereo_and_panned():
    left = score_to_samples(one_note(73, pan=-1.0))
    right = score_to_samples(one_note(73, pan=1.0))
    el, er = np.sum(left ** 2, axis=0), np.sum(right ** 2, axis=0)
    assert el[0] > 3 * el[1] and er[1] > 3 * er[0]


def test_full_mix_channels_differ(full):
    corr = np.corrcoef(full[:, 0], full[:, 1])[0, 1]
    assert not np.array_equal(full[:, 0], full[:, 1]) and corr < 0.98


PROGRAMS = {"piano": 0, "e-piano": 4, "vibes": 11, "organ": 19, "guitar": 25, "bass": 33,
            "strings": 48, "brass": 61, "reed": 71, "flute": 73, "lead": 81, "pad": 89}


def test_timbres_differ_between_families():
    profiles = {}
    for name, program in PROGRAMS.items():
        y = score_to_samples(one_note(program, pitch=57))[int(0.15 * SR): int(1.15 * SR)]
        profiles[name] = harmonic_profile(y, 220.0)
    names = sorted(profiles)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distance = np.sqrt(np.mean((profiles[a] - profiles[b]) ** 2))
            assert distance > 3.0, (a, b, distance)


def test_brightness_spans_families():
    centroid = {name: spectral_centroid(score_to_samples(one_note(p, pitch=57))[int(0.15 * SR): int(1.15 * SR)])
                for name, p in (("flute", 73), ("piano", 0), ("lead", 81))}
    assert centroid["flute"] * 1.2 < centroid["piano"] and centroid["piano"] * 1.2 < centroid["lead"], centroid


def test_drums_are_audible():
    kit = [Note(i * 0.5, i * 0.5 + 0.1, key, 110) for i, key in enumerate([36, 42, 38, 42, 36, 46, 38, 49])]
    y = score_to_samples(Score(120.0, 4.0, 0, 3, (Part("drums", 0, True, 0.0, tuple(kit)),)))
    env = np.sqrt(np.mean(np.square(y[: 8 * SR // 2]).reshape(8, SR // 2, 2)[:, :2205], axis=(1, 2)))
    assert np.all(20 * np.log10(env) > -40.0)  # every hit is there
    kick = y[: SR // 4].mean(axis=1)
    hat = y[SR // 2: SR // 2 + SR // 8].mean(axis=1)
    assert spectral_centroid(kick) < 1000.0
    assert spectral_centroid(hat) > 4000.0


def test_drum_part_changes_the_audio():
    with_kit = score_to_samples(cadence(4.0))
    without = score_to_samples(cadence(4.0, drums=False))
    onset = slice(0, int(0.03 * SR))
    hi = np.abs(np.diff(with_kit[onset, 0])).sum(), np.abs(np.diff(without[onset, 0])).sum()
    assert hi[0] > 1.5 * hi[1]


def test_silent_score_is_silence_not_nan():
    y = score_to_samples(Score(100.0, 2.0, 0, 1, (Part("melody", 0, False, 0.0, ()),)))
    assert y.shape == (2 * SR, 2) and np.isfinite(y).all() and np.max(np.abs(y)) == 0.0


def test_progress_reports_fractions_up_to_one():
    seen: list[float] = []
    score_to_samples(cadence(2.0), progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)


def test_deterministic_in_process(full):
    again = score_to_samples(cadence(12.0))
    assert again.tobytes() == full.tobytes()


def test_the_seed_moves_only_the_vinyl_the_kit_is_the_same_in_every_piece():
    a = score_to_samples(cadence(3.0, seed=1))
    b = score_to_samples(cadence(3.0, seed=2))
    assert a.tobytes() == b.tobytes()  # drums are like a sampled kit: the same hits in every piece
    vinyl = Effects(crackle=0.8)
    c = score_to_samples(dataclasses.replace(cadence(3.0, seed=1), effects=vinyl))
    d = score_to_samples(dataclasses.replace(cadence(3.0, seed=2), effects=vinyl))
    assert c.shape == d.shape and c.tobytes() != d.tobytes()  # each piece has its own record


SNIPPET = """
import hashlib, sys
sys.path.insert(0, {tests!r})
from test_synth_scores import cadence
from engine.synth import score_to_samples
print(hashlib.sha256(score_to_samples(cadence(3.0)).tobytes()).hexdigest())
"""


def test_deterministic_across_processes():
    here = hashlib.sha256(score_to_samples(cadence(3.0)).tobytes()).hexdigest()
    code = SNIPPET.format(tests=str(ROOT / "tests"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == here


@pytest.mark.parametrize("fmt", ["wav", "mp3", "midi"])
def test_pipeline_renders_every_format_deterministically(fmt):
    from engine.render import render
    from engine.spec import RenderSpec

    spec = RenderSpec(n=24, k=None, omega=1.0, xi=1.0, psi=0.0, lock_psi_tau=True, duration_seconds=2.5, format=fmt)
    data = render(spec)
    assert data == render(spec)
    if fmt == "wav":
        y = decode_wav(data)
        assert y.shape == (spec.frames, 2)
        assert -15.0 <= pyloudnorm.Meter(SR).integrated_loudness(y) <= -13.0
