"""The synthesiser's building blocks against direct reference computations: notes sliced from
a per-key NoteBank, tones computed only as far as asked, the block reverb at any FFT length."""
from __future__ import annotations

import numpy as np
import pytest

from engine.synth.notes import (
    NoteBank,
    attack_samples,
    envelope_length,
    held_envelope,
    release_samples,
    release_shape,
)
from engine.synth.reverb import Reverb, fft_length, ir_length
from engine.synth.timbres import Ramps, tone, velocity_gain, voice_for

SR = 44100
PROGRAMS = (0, 4, 19, 33, 38, 48, 73, 89)  # piano, e-piano, organ, bass, synth bass, strings, flute, pad


def reference_note(program: int, pitch: int, velocity: int, n_on: int) -> np.ndarray:
    """tone x (held envelope, then a raised-cosine release from its last level) x gain."""
    voice, ramps = voice_for(program), Ramps()
    n_held = max(n_on, attack_samples(voice, SR))
    n = envelope_length(voice, n_on, sr=SR)
    held = held_envelope(voice, pitch, n_held, sr=SR, ramps=ramps)
    env = np.concatenate([held, held[-1] * release_shape(release_samples(voice, SR))])
    env[-1] = 0.0
    wave = tone(voice, pitch, (min(3, velocity // 32) + 0.5) / 4, n, sr=SR, ramps=ramps)
    return wave * env * np.float32(velocity_gain(velocity) * voice.gain)


@pytest.mark.parametrize("program", PROGRAMS)
def test_notes_equal_the_reference_in_any_order(program):
    notes = [(program, 57, 100, n_on) for n_on in (10, 3000, 30000, 150000)] + [(program, 57, 40, 7000)]
    bank = NoteBank(sr=SR)
    lengths = [bank.plan(*n) for n in notes]
    for note, length in reversed(list(zip(notes, lengths))):
        got = bank.note(*note)
        want = reference_note(*note)
        assert got.dtype == np.float32 and len(got) == length == len(want)
        assert got[0] == 0.0 and got[-1] == 0.0
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("program", PROGRAMS)
def test_tone_is_the_same_whatever_length_is_asked(program):
    voice, ramps = voice_for(program), Ramps()
    long = tone(voice, 45, 0.6, 200000, sr=SR, ramps=ramps)
    for n in (1, 5000, 60000, 199999):
        np.testing.assert_array_equal(tone(voice, 45, 0.6, n, sr=SR, ramps=ramps), long[:n])


def test_reverb_output_does_not_depend_on_fft_length():
    rng = np.random.default_rng(5)
    send = rng.standard_normal(3 * SR).astype(np.float32)
    outs = []
    for frames in (SR, 30 * SR, 300 * SR):  # three FFT lengths
        rev = Reverb(sr=SR, frames=frames)
        out = np.zeros((2, len(send)), np.float32)
        for a in range(0, len(send), rev.block):
            rev.process(send[a:a + rev.block], out[:, a:a + rev.block])
        outs.append((rev.nfft, out))
    assert len({nfft for nfft, _ in outs}) > 1
    for _, out in outs[1:]:
        np.testing.assert_allclose(out, outs[0][1], atol=2e-4 * np.abs(outs[0][1]).max())


def test_fft_length_fits_the_room():
    m = ir_length(SR)
    for frames in (1, SR, 5 * SR, 30 * SR, 300 * SR):
        assert fft_length(m, frames) >= 2 * m
