"""The geometry is audible in the rendered audio: tonic from a chroma, beat from onset strength."""
from __future__ import annotations

import math

import musicanalysis as ma
import pytest

from engine.compose import params_to_score
from engine.spec import RenderSpec
from engine.synth import score_to_samples

SR = 44100


def audio(**kw):
    base = {"n": 24, "k": 10, "omega": 1.0, "xi": 1.0, "psi": 0.0, "lock_psi_tau": True,
            "tempo": 120.0, "duration_seconds": 15.0}
    return score_to_samples(params_to_score(RenderSpec(**{**base, **kw})), sr=SR)


@pytest.mark.parametrize("pc,n,k,xi", [(0, 12, 5, 1.0), (3, 12, 5, -2.0), (7, 24, 10, 2.0), (10, 12, 2, 1.0),
                                       (5, 12, 3, -1.0), (11, 48, 1, 3.0)])
def test_audio_chroma_key_is_the_tonic(pc, n, k, xi):
    y = audio(n=n, k=k, xi=xi, psi=round(2 * math.pi * pc / 12, 6), lock_psi_tau=pc % 2 == 1)
    tonic, _, _ = ma.estimate_key(ma.audio_chroma(y, SR))
    assert tonic == pc


@pytest.mark.parametrize("tempo,omega", [(90.0, 1.0), (120.0, 3.0), (150.0, -2.0)])
def test_beat_tracker_finds_the_tempo_when_locked(tempo, omega):
    found = ma.estimate_tempo(audio(tempo=tempo, omega=omega), SR)
    assert ma.tempo_matches(found, tempo), found
