"""General MIDI percussion: one synthesised hit per (key, velocity, variant), added like notes.

Kick = pitched sine sweep + click; snare = two tones + band-passed noise; hats, cymbals =
high-passed noise with metallic partials; toms / congas = pitched sweeps. Noise comes from
`numpy.random.Generator(PCG64)` seeded with (score seed, key, variant), so a hit's samples
never depend on render order. Waveforms are float32 (n,), start and end at 0.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from engine.synth.timbres import velocity_gain

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


def _noise(rng: np.random.Generator, n: int, lo: float | None, hi: float | None, sr: int) -> np.ndarray:
    x = rng.standard_normal(n, dtype=np.float32)
    if lo and hi:
        sos = signal.butter(2, [lo, hi], "bandpass", fs=sr, output="sos")
    elif lo:
        sos = signal.butter(2, lo, "highpass", fs=sr, output="sos")
    elif hi:
        sos = signal.butter(2, hi, "lowpass", fs=sr, output="sos")
    else:
        return x
    return signal.sosfilt(sos, x).astype(np.float32)


def _sweep(t: np.ndarray, f_hi: float, f_lo: float, tau: float) -> np.ndarray:
    """sin of a pitch glide from f_hi to f_lo Hz with time constant tau s (phase integrated)."""
    phase = 2 * np.pi * (f_lo * t + (f_hi - f_lo) * tau * (1.0 - np.exp(-t / tau)))
    return np.sin(phase).astype(np.float32)


def drum_hit(key: int, variant: int, *, seed: int, sr: int) -> np.ndarray:
    """One full-velocity hit of GM percussion `key`: float32 (n,), peak about 1."""
    kind, p, _ = _kind(key)
    rng = np.random.default_rng(np.random.SeedSequence([seed & (2**63 - 1), key, variant]))

    def t_axis(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sr), dtype=np.float32) / np.float32(sr)

    if kind == "kick":
        t = t_axis(0.45)
        body = _sweep(t, p * 3.2, p, 0.035) * np.exp(-t / 0.22)
        click = _noise(rng, len(t), 1500.0, 8000.0, sr) * np.exp(-t / 0.004) * 0.55
        y = 1.0 * body + click
    elif kind == "snare":
        t = t_axis(0.35)
        body = (_sweep(t, p * 1.5, p, 0.01) + 0.5 * _sweep(t, p * 2.4, p * 1.75, 0.01)) * np.exp(-t / 0.07)
        rattle = _noise(rng, len(t), 1500.0, 9000.0, sr) * np.exp(-t / 0.055)
        y = 0.7 * body + 1.1 * rattle
    elif kind == "clap":
        t = t_axis(0.3)
        bursts = sum(np.exp(-np.maximum(t - d, 0) / 0.008) * (t >= d) for d in (0.0, 0.011, 0.023))
        tail = np.exp(-np.maximum(t - 0.023, 0) / 0.09) * (t >= 0.023)
        y = _noise(rng, len(t), p, 4000.0, sr) * (0.8 * bursts + 0.5 * tail) * 1.5
    elif kind == "tom":
        t = t_axis(0.6)
        y = _sweep(t, p * 1.6, p, 0.06) * np.exp(-t / 0.2)
        y += _noise(rng, len(t), 300.0, 3000.0, sr) * np.exp(-t / 0.02) * 0.3
    elif kind == "hat":
        t = t_axis(min(2.0, 4.0 * p + 0.05))
        metal = sum(np.sin(2 * np.pi * f * t) for f in (3140.0, 4670.0, 5820.0, 7230.0, 8710.0))
        y = (_noise(rng, len(t), 7000.0, None, sr) + 0.1 * metal) * np.exp(-t / p) * 0.55
    elif kind in ("crash", "ride"):
        t = t_axis(min(2.5, 2.2 * p + 0.1))
        lo = 3500.0 if kind == "crash" else 5000.0
        y = _noise(rng, len(t), lo, None, sr) * np.exp(-t / (0.5 * p)) * (0.45 if kind == "crash" else 0.25)
        bell = sum(np.sin(2 * np.pi * f * t) for f in (420.0 * 1.0, 420.0 * 2.76, 420.0 * 5.4))
        y += 0.06 * bell * np.exp(-t / (0.4 * p)) * (2.0 if key == 53 else 1.0)
        y *= np.minimum(t / 0.002, 1.0)
    else:  # click: wood block, cowbell, claves
        t = t_axis(0.2)
        y = (np.sin(2 * np.pi * p * t) + 0.4 * np.sin(2 * np.pi * p * 2.7 * t)) * np.exp(-t / 0.03) * 0.6
    y = np.asarray(y, np.float32)
    fade = min(len(y), int(0.004 * sr))
    y[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    y[0] = 0.0
    return y


class DrumKit:
    """Hits of one render: synthesised once per (key, variant) and scaled per velocity;
    variants are cycled so repeated hits are not identical."""

    send = SEND

    def __init__(self, *, seed: int, sr: int):
        self.seed, self.sr = seed, sr
        self._base: dict[tuple[int, int], np.ndarray] = {}
        self._hits: dict[tuple[int, int, int], np.ndarray] = {}
        self._count: dict[int, int] = {}

    def hit(self, key: int, velocity: int) -> tuple[np.ndarray, float]:
        """(waveform float32 (n,), pan offset -1..1) for the next hit of GM key `key`."""
        variant = self._count.get(key, 0) % VARIANTS
        self._count[key] = self._count.get(key, 0) + 1
        cache_key = (key, velocity, variant)
        wave = self._hits.get(cache_key)
        if wave is None:
            base = self._base.get((key, variant))
            if base is None:
                base = self._base[(key, variant)] = drum_hit(key, variant, seed=self.seed, sr=self.sr)
            wave = self._hits[cache_key] = base * np.float32(velocity_gain(velocity))
        return wave, _kind(key)[2]
