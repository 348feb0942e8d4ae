"""General MIDI percussion: one synthesised hit per (key, velocity, variant), added like notes.

Kick = pitched sine sweep + click; snare = two tones + band-passed noise; hats, cymbals =
high-passed noise with metallic partials; toms / congas = pitched sweeps. Noise comes from
`numpy.random.Generator(PCG64)` seeded with (score seed, key, variant), so a hit's samples
never depend on render order; the rest of a hit (tonal parts, envelopes) depends only on the
key and is memoised. Waveforms are float32 (n,), start and end at 0.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

VARIANTS = 4  #: noise variants per drum sound, cycled so repeated hats are not identical
SEND = 0.12  #: reverb send of the kit (a little room)

#: GM key -> (kind, pitch-ish parameter in Hz, pan offset)
KIT: dict[int, tuple[str, float, float]] = {
    35: ("kick", 50.0, 0.0), 36: ("kick", 55.0, 0.0),
    37: ("click", 1800.0, 0.05), 38: ("snare", 190.0, 0.05), 40: ("snare", 210.0, 0.05),
    39: ("clap", 1200.0, -0.1),
    41: ("tom", 80.0, -0.3), 43: ("tom", 95.0, -0.25), 45: ("tom", 115.0, -0.1),
    47: ("tom", 135.0, 0.05), 48: ("tom", 160.0, 0.15), 50: ("tom", 190.0, 0.25),
    42: ("hat", 0.045, 0.3), 44: ("hat", 0.03, 0.3), 46: ("hat", 0.35, 0.3),
    54: ("hat", 0.08, 0.4), 69: ("hat", 0.05, -0.4), 70: ("hat", 0.06, 0.4),
    49: ("crash", 1.4, -0.35), 57: ("crash", 1.4, 0.35), 52: ("crash", 1.0, 0.45), 55: ("crash", 0.7, 0.2),
    51: ("ride", 0.9, 0.4), 59: ("ride", 0.9, 0.4), 53: ("ride", 1.2, 0.4),
    56: ("click", 560.0, 0.2), 75: ("click", 2500.0, -0.2), 76: ("click", 1100.0, 0.3), 77: ("click", 800.0, 0.3),
}


def _kind(key: int) -> tuple[str, float, float]:
    if key in KIT:
        return KIT[key]
    if 60 <= key <= 68:  # bongos, congas, timbales: high toms
        return ("tom", 180.0 + 25.0 * (68 - key), 0.3 if key % 2 else -0.3)
    if key >= 71:
        return ("click", 900.0 + 40.0 * (key - 71), 0.1)
    return ("tom", 120.0, 0.0)


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


def _sweep(t: np.ndarray, f_hi: float, f_lo: float, tau: float) -> np.ndarray:
    """sin of a pitch glide from f_hi to f_lo Hz with time constant tau s (phase integrated)."""
    return np.sin(2 * np.pi * (f_lo * t + (f_hi - f_lo) * tau * (1.0 - np.exp(-t / tau))))


@lru_cache(maxsize=32)
def _recipe(key: int, sr: int) -> tuple[np.ndarray, np.ndarray, float | None, float | None]:
    """The noise-free parts of a hit of GM key `key`: (noise envelope, tonal part, noise band
    low / high edge in Hz). A hit is filtered noise x envelope + tonal part; both arrays are
    float32 (n,), read-only, with the end fade and the zero first sample folded in. A pure
    memo of a function of (key, sr): < 16 MB in all."""
    kind, p, _ = _kind(key)

    def t_axis(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr)) / sr

    lo, hi = None, None
    if kind == "kick":
        t = t_axis(0.45)
        tonal = _sweep(t, p * 3.2, p, 0.035) * np.exp(-t / 0.22)
        env, lo, hi = np.exp(-t / 0.004) * 0.55, 1500.0, 8000.0
    elif kind == "snare":
        t = t_axis(0.35)
        tonal = 0.7 * (_sweep(t, p * 1.5, p, 0.01) + 0.5 * _sweep(t, p * 2.4, p * 1.75, 0.01)) * np.exp(-t / 0.07)
        env, lo, hi = 1.1 * np.exp(-t / 0.055), 1500.0, 9000.0
    elif kind == "clap":
        t = t_axis(0.3)
        bursts = sum(np.exp(-np.maximum(t - d, 0) / 0.008) * (t >= d) for d in (0.0, 0.011, 0.023))
        tail = np.exp(-np.maximum(t - 0.023, 0) / 0.09) * (t >= 0.023)
        tonal, env, lo, hi = np.zeros_like(t), (0.8 * bursts + 0.5 * tail) * 1.5, p, 4000.0
    elif kind == "tom":
        t = t_axis(0.6)
        tonal = _sweep(t, p * 1.6, p, 0.06) * np.exp(-t / 0.2)
        env, lo, hi = np.exp(-t / 0.02) * 0.3, 300.0, 3000.0
    elif kind == "hat":
        t = t_axis(min(2.0, 4.0 * p + 0.05))
        metal = sum(np.sin(2 * np.pi * f * t) for f in (3140.0, 4670.0, 5820.0, 7230.0, 8710.0))
        env, lo = np.exp(-t / p) * 0.55, 7000.0
        tonal = 0.1 * metal * env
    elif kind in ("crash", "ride"):
        t = t_axis(min(2.5, 2.2 * p + 0.1))
        lo = 3500.0 if kind == "crash" else 5000.0
        env = np.exp(-t / (0.5 * p)) * (0.45 if kind == "crash" else 0.25)
        bell = sum(np.sin(2 * np.pi * f * t) for f in (420.0 * 1.0, 420.0 * 2.76, 420.0 * 5.4))
        tonal = 0.06 * bell * np.exp(-t / (0.4 * p)) * (2.0 if key == 53 else 1.0)
        onset = np.minimum(t / 0.002, 1.0)
        env, tonal = env * onset, tonal * onset
    else:  # click: wood block, cowbell, claves
        t = t_axis(0.2)
        tonal = (np.sin(2 * np.pi * p * t) + 0.4 * np.sin(2 * np.pi * p * 2.7 * t)) * np.exp(-t / 0.03) * 0.6
        env = None
    fade = min(len(t), int(0.004 * sr))
    edge = np.ones(len(t))
    edge[-fade:] = np.linspace(1.0, 0.0, fade)
    edge[0] = 0.0
    env = np.zeros(len(t)) if env is None else env
    env, tonal = (env * edge).astype(np.float32), (tonal * edge).astype(np.float32)
    env.flags.writeable = tonal.flags.writeable = False
    return env, tonal, lo, hi


def drum_hit(key: int, variant: int, *, seed: int, sr: int) -> np.ndarray:
    """One full-velocity hit of GM percussion `key`: float32 (n,), peak about 1."""
    env, tonal, lo, hi = _recipe(key, sr)
    if lo is None and hi is None:  # no noise in this sound
        return tonal.copy()
    rng = np.random.default_rng(np.random.SeedSequence([seed & (2**63 - 1), key, variant]))
    y = rng.standard_normal(len(env), dtype=np.float32)
    sos = _filter(lo, hi, sr)
    if sos is not None:
        y = signal.sosfilt(sos.copy(), y)  # (sosfilt wants a writable sos)
    y *= env
    y += tonal
    return y


class DrumKit:
    """Hits of one render: synthesised once per (key, variant), at full velocity (the mix
    applies the velocity gain); variants are cycled so repeated hits are not identical."""

    send = SEND

    def __init__(self, *, seed: int, sr: int):
        self.seed, self.sr = seed, sr
        self._hits: dict[tuple[int, int], np.ndarray] = {}
        self._count: dict[int, int] = {}

    def hit(self, key: int, velocity: int) -> tuple[np.ndarray, float]:
        """(full-velocity waveform float32 (n,), pan offset -1..1) for the next hit of GM key
        `key`; scale it by `velocity_gain(velocity)`."""
        variant = self._count.get(key, 0) % VARIANTS
        self._count[key] = self._count.get(key, 0) + 1
        wave = self._hits.get((key, variant))
        if wave is None:
            wave = self._hits[(key, variant)] = drum_hit(key, variant, seed=self.seed, sr=self.sr)
        return wave, _kind(key)[2]
