"""Drum kits: the noise-free recipe of every GM percussion sound, per kit family.

The drum part's program is its General MIDI kit; it picks a family of recipes:
    808        TR-808: long sine-sweep boom kick, snappy tuned snare, clap, metallic hats, cowbell
    909        TR-909: punchy kick with a click, noisy snare, bright hats, crash and ride
    acoustic   standard kit (0, 8): kick with a beater, snare with wires, hats, crash, ride, toms
    power      rock kit (16): the acoustic kit bigger and punchier
    jazz       jazz kit (32): a softer, higher-tuned kick, tight snare, a ride with bell ping and wash
    brush      brush kit (40): swishes on the snare, soft taps
    orchestra  orchestra kit (48): concert bass drum, orchestral cymbals, timpani-like toms
A recipe is (noise envelope, tonal part, noise band low/high Hz): a hit is band-passed seeded
noise x envelope + tonal part (engine.synth.drums). Cymbal and hat noise stops at 12-13 kHz and
their metallic partials are inharmonic clusters, so the kit has shimmer without a flat,
harsh top octave.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

FAMILY_OF_KIT = {25: "808", 24: "909", 16: "power", 32: "jazz", 40: "brush", 48: "orchestra"}

#: GM key -> (kind, pan offset)
KEYS: dict[int, tuple[str, float]] = {
    35: ("kick", 0.0), 36: ("kick", 0.0), 37: ("rim", 0.05), 38: ("snare", 0.05), 40: ("snare", 0.05),
    39: ("clap", -0.1), 41: ("tom_lo", -0.3), 43: ("tom_lo", -0.2), 45: ("tom_mid", -0.1),
    47: ("tom_mid", 0.05), 48: ("tom_hi", 0.15), 50: ("tom_hi", 0.25), 42: ("hat", 0.3), 44: ("pedal", 0.3),
    46: ("open_hat", 0.3), 54: ("tamb", 0.4), 69: ("shaker", -0.4), 70: ("shaker", 0.4), 49: ("crash", -0.35),
    57: ("crash", 0.35), 52: ("crash", 0.45), 55: ("crash", 0.2), 51: ("ride", 0.4), 59: ("ride", 0.4),
    53: ("bell", 0.4), 56: ("cowbell", 0.2), 75: ("clave", -0.2), 76: ("wood", 0.3), 77: ("wood", 0.3),
    62: ("conga_hi", 0.3), 63: ("conga_hi", 0.3), 64: ("conga_lo", -0.3), 81: ("triangle", 0.35),
}
#: Metallic partials (Hz) of the 808's six square oscillators and their products, thinned.
METAL_808 = (3297.0, 4049.0, 4840.0, 5652.0, 6446.0, 7353.0, 8208.0, 9019.0, 10253.0)
METAL_CYMBAL = (3130.0, 3920.0, 4710.0, 5390.0, 6180.0, 7070.0, 7940.0, 8830.0, 9650.0, 10800.0)


#: kit family -> kick (sweep start Hz, body Hz, sweep time s, decay s, beater click level, drive)
KICKS = {
    "808": (130.0, 48.0, 0.045, 0.55, 0.2, 1.3),
    "909": (330.0, 54.0, 0.018, 0.22, 1.1, 1.6),
    "acoustic": (160.0, 60.0, 0.025, 0.15, 0.8, 1.2),
    "power": (190.0, 58.0, 0.025, 0.18, 1.0, 1.8),
    "jazz": (150.0, 72.0, 0.02, 0.13, 0.5, 0.0),
    "brush": (140.0, 66.0, 0.02, 0.13, 0.35, 0.0),
    "orchestra": (80.0, 42.0, 0.08, 0.9, 0.15, 0.0),
}


def kind_of(key: int) -> tuple[str, float]:
    """(kind, pan offset) of a GM percussion key; unknown keys sound as toms or wood blocks."""
    if key in KEYS:
        return KEYS[key]
    if 60 <= key <= 68:
        return ("conga_hi" if key % 2 else "conga_lo", 0.3 if key % 2 else -0.3)
    return ("wood", 0.1) if key >= 71 else ("tom_mid", 0.0)


def family_of(kit: int) -> str:
    """Recipe family of a GM drum-kit program."""
    return FAMILY_OF_KIT.get(kit, "acoustic")


def _t(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr)) / sr


def _sweep(t: np.ndarray, f_hi: float, f_lo: float, tau: float) -> np.ndarray:
    """sin of a pitch glide from f_hi to f_lo Hz with time constant tau s (phase integrated)."""
    return np.sin(2 * np.pi * (f_lo * t + (f_hi - f_lo) * tau * (1.0 - np.exp(-t / tau))))


def _partials(t: np.ndarray, freqs: tuple[float, ...], scale: float = 1.0) -> np.ndarray:
    return sum(np.sin(2 * np.pi * f * scale * t + i) for i, f in enumerate(freqs)) / np.sqrt(len(freqs))


def _kick(f_hi, f_lo, sweep, decay, click, drive, sr):
    t = _t(min(1.6, 5 * decay), sr)
    body = _sweep(t, f_hi, f_lo, sweep) * np.exp(-t / decay)
    if drive:
        body = np.tanh(drive * body) / np.tanh(drive)
    return click * np.exp(-t / 0.003), body, 1500.0, 9000.0


def _snare(tone, tone_decay, noise, noise_decay, band, sr, attack=0.0):
    t = _t(min(0.7, 6 * noise_decay), sr)
    body = 0.8 * (_sweep(t, tone * 1.5, tone, 0.01) + 0.5 * _sweep(t, tone * 2.3, tone * 1.8, 0.01))
    body *= np.exp(-t / tone_decay)
    env = noise * np.exp(-t / noise_decay)
    if attack:
        env *= np.minimum(t / attack, 1.0)
        body *= np.minimum(t / attack, 1.0)
    return env, body, band[0], band[1]


def _metal(decay, level, metal, freqs, band, sr, length=None, scale=1.0):
    t = _t(length or min(2.8, 5 * decay), sr)
    env = np.exp(-t / decay) * np.minimum(t / 0.0015, 1.0)
    return level * env, metal * level * _partials(t, freqs, scale) * env, band[0], band[1]


@lru_cache(maxsize=256)
def recipe(family: str, key: int, sr: int) -> tuple[np.ndarray, np.ndarray, float | None, float | None]:
    """(noise envelope, tonal part, noise band low, high) of GM key `key` in kit `family`: two
    float32 arrays of one length, read-only, the first sample 0 and a short end fade folded in
    (a pure memo)."""
    kind, _ = kind_of(key)
    heavy = family in ("power", "909")
    if kind == "kick":
        env, tonal, lo, hi = _kick(*KICKS.get(family, KICKS["acoustic"]), sr)
    elif kind == "snare":
        if family == "brush":  # a swish: the brush drawn across the head
            env, tonal, lo, hi = _snare(210.0, 0.04, 0.7, 0.16, (1800.0, 7000.0), sr, attack=0.025)
            tonal = tonal * 0.3
        elif family == "808":
            env, tonal, lo, hi = _snare(180.0, 0.06, 0.9, 0.09, (1800.0, 9000.0), sr)
        elif family == "jazz":
            env, tonal, lo, hi = _snare(240.0, 0.05, 0.8, 0.11, (2000.0, 9000.0), sr)
        elif family == "orchestra":  # a crisp field snare: marches roll on it
            env, tonal, lo, hi = _snare(220.0, 0.05, 0.9, 0.07, (1800.0, 8000.0), sr)
        else:  # acoustic, power, 909, orchestra: wires ring longer
            env, tonal, lo, hi = _snare(190.0 if heavy else 200.0, 0.07, 1.2 if heavy else 1.0,
                                        0.17 if heavy else 0.14, (1500.0, 9500.0), sr)
    elif kind == "clap":
        t = _t(0.35, sr)
        bursts = sum(np.exp(-np.maximum(t - d, 0) / 0.007) * (t >= d) for d in (0.0, 0.010, 0.021, 0.030))
        tail = np.exp(-np.maximum(t - 0.03, 0) / 0.11) * (t >= 0.03)
        env, tonal, lo, hi = (0.8 * bursts + 0.55 * tail) * 1.5, np.zeros_like(t), 900.0, 5000.0
    elif kind in ("tom_lo", "tom_mid", "tom_hi", "conga_lo", "conga_hi"):
        f = {"tom_lo": 85.0, "tom_mid": 120.0, "tom_hi": 165.0, "conga_lo": 200.0, "conga_hi": 290.0}[kind]
        decay = 0.45 if family == "orchestra" else 0.25 if kind.startswith("tom") else 0.14
        t = _t(min(1.5, 5 * decay), sr)
        tonal = _sweep(t, f * (1.25 if family == "orchestra" else 1.6), f, 0.05) * np.exp(-t / decay)
        env, lo, hi = np.exp(-t / 0.015) * 0.35, 300.0, 3500.0
    elif kind in ("hat", "pedal", "open_hat", "tamb", "shaker"):
        decay = {"hat": 0.04, "pedal": 0.03, "open_hat": 0.22, "tamb": 0.08, "shaker": 0.05}[kind]
        if family == "brush":
            decay *= 0.8
        metal = 0.9 if family == "808" else 0.5 if kind in ("hat", "pedal", "open_hat") else 0.15
        freqs = METAL_808 if family == "808" else METAL_CYMBAL
        band = (6500.0, 12500.0) if kind != "shaker" else (4000.0, 11000.0)
        env, tonal, lo, hi = _metal(decay, 0.55, metal, freqs, band, sr)
    elif kind in ("crash", "ride", "bell"):
        if kind == "crash":
            decay = 0.9 if family == "orchestra" else 0.7
            env, tonal, lo, hi = _metal(decay, 0.5, 0.6, METAL_CYMBAL, (3500.0, 12500.0), sr, length=2.6)
        else:  # ride: a pinged bell over a wash
            decay = 0.3 if family != "jazz" else 0.42
            env, tonal, lo, hi = _metal(decay, 0.2, 0.4, METAL_CYMBAL, (4500.0, 12000.0), sr, length=1.6,
                                        scale=1.08)
            t = _t(len(env) / sr, sr)
            ping = (np.sin(2 * np.pi * 2630.0 * t) + 0.6 * np.sin(2 * np.pi * 4110.0 * t)) * np.exp(-t / 0.35)
            tonal = tonal + (0.5 if kind == "ride" else 0.9) * ping * np.minimum(t / 0.001, 1.0)
    elif kind == "cowbell":
        t = _t(0.35, sr)
        tonal = (np.sin(2 * np.pi * 540.0 * t) + np.sin(2 * np.pi * 800.0 * t)) * 0.5 * np.exp(-t / 0.09)
        env, lo, hi = np.exp(-t / 0.01) * 0.2, 500.0, 3000.0
    elif kind == "triangle":
        t = _t(1.2, sr)
        tonal = _partials(t, (4200.0, 6900.0, 9300.0)) * np.exp(-t / 0.5) * 0.6
        env, lo, hi = None, None, None
    else:  # rim click, clave, wood block
        f = {"rim": 1700.0, "clave": 2500.0, "wood": 1100.0}.get(kind, 1000.0)
        t = _t(0.2, sr)
        tonal = (np.sin(2 * np.pi * f * t) + 0.4 * np.sin(2 * np.pi * f * 2.7 * t)) * np.exp(-t / 0.025) * 0.7
        env, lo, hi = (np.exp(-t / 0.004) * 0.3, 2000.0, 8000.0) if kind == "rim" else (None, None, None)
    n = len(tonal)
    fade = min(n, int(0.004 * sr))
    edge = np.ones(n)
    edge[-fade:] = np.linspace(1.0, 0.0, fade)
    edge[0] = 0.0
    env = np.zeros(n) if env is None else env
    env, tonal = (env * edge).astype(np.float32), (tonal * edge).astype(np.float32)
    env.flags.writeable = tonal.flags.writeable = False
    return env, tonal, lo, hi


#: Level of each kind in the kit (linear), so kick and snare lead and cymbals sit behind.
LEVEL = {"kick": 1.6, "snare": 1.3, "clap": 1.1, "rim": 0.7, "hat": 0.5, "pedal": 0.45, "open_hat": 0.5,
         "tamb": 0.45, "shaker": 0.4, "crash": 0.45, "ride": 0.5, "bell": 0.6, "cowbell": 0.6, "triangle": 0.4}
