"""Golden hashes: the bytes of a few specs are pinned to the engine version.

A change that alters any of these bytes must bump ENGINE_VERSION (engine/spec.py): every job id
includes it, so caches never serve music rendered by an older engine under a newer id. When
you bump it on purpose, regenerate the table below (print the values this test computes).
If only the audio hashes differ on a different CPU while score and MIDI still match, the
machine's float maths (SIMD paths of sin/exp/FFT) differs: determinism is promised across runs,
threads, processes and workers of one deployment's hardware.
"""
import hashlib

import pytest

from engine.compose import params_to_score
from engine.render import render
from engine.spec import ENGINE_VERSION, RenderSpec

SPECS = {
    "api-example": RenderSpec(n=120, k=49, omega=2.5, xi=1.8, psi=0.0, lock_psi_tau=True, duration_seconds=6),
    "free-minor": RenderSpec(n=31, k=7, omega=-3.0, xi=-4.0, psi=3.5, lock_psi_tau=False, tempo=84,
                             duration_seconds=5),
    "extreme": RenderSpec(n=2000, k=1000, omega=10.0, xi=10.0, psi=6.283185, lock_psi_tau=True, tempo=300,
                          duration_seconds=3),
}

GOLDEN = {
    "1": {
        "api-example": {"score": "bb0f7a2db92a6c26", "wav": "397f8e0f7aac5e5c", "mp3": "4b88eda8b8cd0b38",
                        "midi": "9be5eb69825e2e00"},
        "free-minor": {"score": "54043c335b9f13e7", "wav": "aa43afc7cc6cee39", "mp3": "da1651189768ca3a",
                       "midi": "036cdeda0a443491"},
        "extreme": {"score": "d0c126cbe9a2a8ba", "wav": "6f565b9c3e5ff87b", "mp3": "b42ff7e3ae9566a7",
                    "midi": "317612ca8eda4d75"},
    },
}


def short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def test_engine_version_has_goldens():
    assert ENGINE_VERSION in GOLDEN, "bumped ENGINE_VERSION: add its golden hashes"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_score_and_files_match_the_goldens(name):
    spec, expected = SPECS[name], GOLDEN[ENGINE_VERSION][name]
    actual = {"score": short_hash(repr(params_to_score(spec)).encode())}
    for fmt in ("wav", "mp3", "midi"):
        actual[fmt] = short_hash(render(spec.with_(format=fmt)))
    assert actual == expected, "output bytes changed: bump ENGINE_VERSION and update GOLDEN"
