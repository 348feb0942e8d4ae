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
    "lofi-vinyl": RenderSpec(n=24, k=10, omega=1.5, xi=-2.0, psi=1.0, lock_psi_tau=True, tempo=80,
                             duration_seconds=6, style="lofi"),
    "trap-808": RenderSpec(n=36, k=15, omega=2.0, xi=-3.0, psi=4.0, lock_psi_tau=True, tempo=140,
                           duration_seconds=6, style="trap"),
}

GOLDEN = {
    "2": {
        "api-example": {"score": "a9a8450085da7fee", "wav": "7f3f0509e4de13cc", "mp3": "9f97c325e6755d5d",
                       "midi": "1872a55e48f72cc7"},
        "extreme": {"score": "1127c5b8c788e3e4", "wav": "3b213d785e96a22b", "mp3": "40b968ab43e9dedc",
                   "midi": "72fe26dd78ca622e"},
        "free-minor": {"score": "e113a47d038c5dcb", "wav": "262eb25000cdadc0", "mp3": "f5824f6c6992a661",
                      "midi": "46ff1a68c7bbd8dd"},
        "lofi-vinyl": {"score": "e1b7fe51e7751e43", "wav": "6d9daed329190e96", "mp3": "a3a6746fb6356e82",
                      "midi": "043c623e78546061"},
        "trap-808": {"score": "ffb06dc9792c47ed", "wav": "2b77045d4f646085", "mp3": "fd6b13eae385b622",
                    "midi": "45d46a1e67b9230d"},
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
