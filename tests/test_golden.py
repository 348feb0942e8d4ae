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
        "api-example": {"score": "05a4b137a0e34443", "wav": "e34fb0a5364c2054", "mp3": "d21ffee1db2add1e",
                       "midi": "4a05fc7145cfbbe1"},
        "extreme": {"score": "c8587c7b42e08782", "wav": "72d97b620f8ea89d", "mp3": "dc10fd0d5a478cf4",
                   "midi": "d0dae72912ce9fcd"},
        "free-minor": {"score": "baf5c26ffec3d533", "wav": "2c0b15b93276b3b7", "mp3": "6bbe8414f89f9cfd",
                      "midi": "621fc252bad794cd"},
        "lofi-vinyl": {"score": "21c1160e3ad4f243", "wav": "653e042b6375aac4", "mp3": "03237e02866df3d6",
                      "midi": "31292bc91e156736"},
        "trap-808": {"score": "dcc05ba57cbf6f6c", "wav": "bc1356c8332ff612", "mp3": "2601a9668477181d",
                    "midi": "8e1a68dee84227c7"},
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
