"""General MIDI percussion: one synthesised hit per (kit, key, variant), added like notes.

The recipes live in `engine.synth.kits`, one family per GM kit (808, 909, acoustic, power, jazz,
brush, orchestra): kick = pitched sine sweep + beater click; snare = two tones + band-passed
noise (a slow-attack swish with brushes); hats, cymbals = band-passed noise with inharmonic
metallic partials; toms / congas = pitched sweeps. Noise comes from
`numpy.random.Generator(PCG64)` seeded with (kit, key, variant): like a sampled kit, a kit's
hits are the same in every piece, so each is made once per process and kept (a bounded pure
memo), and a hit's samples never depend on render order. Waveforms are float32 (n,),
read-only, start and end at 0.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from engine.synth.kits import LEVEL, family_of, kind_of, recipe

VARIANTS = 4  #: noise variants per drum sound, cycled so repeated hats are not identical
HITS_KEPT = 160  #: drum hits kept per process (about 15 MB): a few kits' worth
SEND = 0.12  #: reverb send of the kit (a little room)

@lru_cache(maxsize=64)
def _filter(lo: float | None, hi: float | None, sr: int) -> np.ndarray | None:
    """2nd-order Butterworth band/high/low-pass as float32 sos (a pure memo of the design)."""
    if lo and hi:
        sos = signal.butter(2, [lo, hi], "bandpass", fs=sr, output="sos")
    elif lo:
        sos = signal.butter(2, lo, "highpass", fs=sr, output="sos")
    elif hi:
        sos = signal.butter(2, hi, "lowpass", fs=sr, output="sos")
    else:
        return None
    sos = sos.astype(np.float32)
    sos.flags.writeable = False
    return sos


@lru_cache(maxsize=HITS_KEPT)
def drum_hit(key: int, variant: int, *, sr: int, kit: int = 0) -> np.ndarray:
    """One full-velocity hit of GM percussion `key` on GM drum kit `kit`: float32 (n,),
    read-only. Like a sampled kit, a kit's hits are the same in every piece (its noise is seeded
    from kit, key and variant), so they are made once per process and kept (a pure memo)."""
    family = family_of(kit)
    env, tonal, lo, hi = recipe(family, key, sr)
    level = np.float32(LEVEL.get(kind_of(key)[0], 1.0))
    if lo is None and hi is None:  # no noise in this sound
        out = tonal * level
        out.flags.writeable = False
        return out
    rng = np.random.default_rng(np.random.SeedSequence([0xD2, kit, key, variant]))
    y = rng.standard_normal(len(env), dtype=np.float32)
    sos = _filter(lo, hi, sr)
    if sos is not None:
        y = signal.sosfilt(sos.copy(), y)  # (sosfilt wants a writable sos)
    y *= env
    y += tonal
    y *= level
    out = np.asarray(y, np.float32)
    out.flags.writeable = False
    return out


class DrumKit:
    """Hits of one render: synthesised once per (key, variant), at full velocity (the mix
    applies the velocity gain); variants are cycled so repeated hits are not identical."""

    send = SEND

    def __init__(self, *, sr: int, kit: int = 0):
        self.sr, self.kit = sr, kit
        self._hits: dict[tuple[int, int], np.ndarray] = {}
        self._count: dict[int, int] = {}

    def hit(self, key: int, velocity: int) -> tuple[np.ndarray, float]:
        """(full-velocity waveform float32 (n,), pan offset -1..1) for the next hit of GM key
        `key`; scale it by `velocity_gain(velocity)`."""
        variant = self._count.get(key, 0) % VARIANTS
        self._count[key] = self._count.get(key, 0) + 1
        wave = self._hits.get((key, variant))
        if wave is None:
            wave = self._hits[(key, variant)] = drum_hit(key, variant, sr=self.sr, kit=self.kit)
        return wave, kind_of(key)[1]
