"""The tone cache a long-lived caller passes to render(): same samples and bytes, warm or cold,
bounded memory, safe across threads."""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from engine.render import render
from engine.spec import RenderSpec
from engine.synth.timbres import FAMILIES, SPECIAL, Ramps, tone, tone_shape
from engine.synth.tonecache import ToneCache

SR = 44100
VOICES = sorted(set(FAMILIES) | set(SPECIAL.values()), key=repr)  # every voice: additive, fm, saws


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("voice", VOICES, ids=lambda v: f"{v.kind}-{abs(hash(v)) % 10**6}")
def test_cached_tones_equal_computed_tones_in_any_order(voice):
    full, _ = tone_shape(voice, 52, sr=SR)
    lengths = [100, full // 3, full - 1, full, full + 1, 3 * full + 17, 40, full // 2]
    cache = ToneCache(64 << 20)
    for n in lengths:  # cold, then grown, then served as slices and loops of the kept head
        got = cache.tone(voice, 52, 0.625, n, sr=SR, ramps=Ramps())
        assert got.dtype == np.float32 and got.shape == (n,)
        np.testing.assert_array_equal(got, tone(voice, 52, 0.625, n, sr=SR, ramps=Ramps()))
    assert len(cache) == 1


def test_kept_heads_are_read_only_and_never_longer_than_the_loop_point():
    voice = FAMILIES[0]
    full, _ = tone_shape(voice, 60, sr=SR)
    cache = ToneCache(64 << 20)
    got = cache.tone(voice, 60, 0.5, 10 * full, sr=SR, ramps=Ramps())
    assert cache.nbytes == full * 4
    short = cache.tone(voice, 60, 0.5, 64, sr=SR, ramps=Ramps())
    with pytest.raises(ValueError):
        short[0] = 1.0
    assert got.shape == (10 * full,)


def test_memory_stays_within_the_bound():
    cache = ToneCache(2 << 20)
    for pitch in range(36, 84):
        cache.tone(FAMILIES[5], pitch, 0.5, SR, sr=SR, ramps=Ramps())  # strings: long heads
        assert cache.nbytes <= 2 << 20
    assert 0 < len(cache) < 48
    nothing = ToneCache(0)
    nothing.tone(FAMILIES[5], 60, 0.5, SR, sr=SR, ramps=Ramps())
    assert len(nothing) == 0 and nothing.nbytes == 0


def spec(n: int, k: int, omega: float, xi: float, psi: float, lock: bool, seconds: float,
         fmt: str = "wav", tempo: float = 120.0) -> RenderSpec:
    return RenderSpec(n=n, k=k, omega=omega, xi=xi, psi=psi, lock_psi_tau=lock, tempo=tempo,
                      duration_seconds=seconds, format=fmt)


SPECS = [
    spec(24, 10, 1.0, 1.0, 0.3, True, 5.0),
    spec(7, 3, 2.0, 3.0, 1.0, False, 6.0),
    spec(12, 1, -4.0, 8.0, 2.0, True, 4.0, "mp3"),
    spec(31, 13, 7.0, 9.0, 4.0, False, 5.0),
    spec(60, 25, 3.0, -5.0, 5.5, True, 5.0, tempo=70.0),
]


def test_renders_are_byte_identical_with_a_warm_cold_or_tiny_cache():
    plain = [digest(render(spec)) for spec in SPECS]
    warm = ToneCache(64 << 20)
    for spec in SPECS:  # warm it with other and longer renders of the same instruments
        render(spec.with_(duration_seconds=9.0, psi=spec.psi + 0.5), tones=warm)
    assert len(warm) > 0
    assert [digest(render(spec, tones=warm)) for spec in SPECS] == plain
    assert [digest(render(spec, tones=ToneCache(64 << 20))) for spec in SPECS] == plain
    assert [digest(render(spec, tones=ToneCache(256 << 10))) for spec in SPECS] == plain


def test_one_cache_shared_by_concurrent_renders_gives_the_same_bytes():
    plain = [digest(render(spec)) for spec in SPECS]
    shared = ToneCache(64 << 20)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda spec: digest(render(spec, tones=shared)), SPECS * 3))
    assert got == plain * 3
