"""Mastering, in place on a float32 (frames, 2) bus: DC removal, edge fades, loudness
normalisation to -14 LUFS, and a look-ahead true-peak limiter keeping peaks <= -1 dBTP.

Everything runs in chunks of `loudness.CHUNK` frames, so the only full-length array is the bus.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from engine.synth.loudness import (
    CHUNK,
    TP_TAPS,
    integrated_loudness,
    true_peak,
    true_peak_envelope,
)

TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
LIMIT_DBTP = -1.6  #: the limiter aims a little under the ceiling (interpolator differences)
SILENCE_LUFS = -70.0
FADE_IN = 0.005  #: seconds
FADE_OUT = 0.040  #: seconds


def db_to_gain(db: float) -> float:
    """Linear gain of a level in dB."""
    return float(10.0 ** (db / 20.0))


def remove_dc_and_fade(y: np.ndarray, *, sr: int) -> None:
    """Subtract each channel's mean, then fade the first FADE_IN and last FADE_OUT seconds."""
    frames = y.shape[0]
    mean = np.zeros(2, np.float64)
    for a in range(0, frames, CHUNK):
        mean += y[a:a + CHUNK].sum(axis=0, dtype=np.float64)
    mean /= max(frames, 1)
    for a in range(0, frames, CHUNK):
        y[a:a + CHUNK] -= mean.astype(np.float32)
    n_in = min(frames, int(FADE_IN * sr))
    n_out = min(frames, int(FADE_OUT * sr))
    if n_in:
        y[:n_in] *= (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n_in, dtype=np.float32)))[:, None]
    if n_out:
        y[frames - n_out:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n_out, dtype=np.float32)))[:, None]


def gain_and_limit(y: np.ndarray, gain: float, *, sr: int) -> bool:
    """y *= gain, then duck frames whose true peak exceeds LIMIT_DBTP. Returns True if it limited.

    The gain reduction is the running minimum of the needed gain over +-hold (look-ahead and
    hold), smoothed by a moving average of `ramp` frames, so it is reached before each peak and
    released smoothly after it.
    """
    frames = y.shape[0]
    ceiling = db_to_gain(LIMIT_DBTP)
    hold, ramp = int(0.012 * sr), int(0.008 * sr)
    margin = hold + ramp + TP_TAPS
    g = np.float32(gain)
    limited = False
    prev = np.zeros((0, 2), np.float32)  # unscaled frames just before the chunk
    for a in range(0, frames, CHUNK):
        b = min(frames, a + CHUNK)
        ahead = y[b:b + margin]
        ext = np.concatenate([prev, y[a:b], ahead]) * g
        start = len(prev)
        prev = y[max(0, b - margin):b].copy()
        env = true_peak_envelope(ext, 0.5 * ceiling)
        if env.max(initial=0.0) <= ceiling:
            y[a:b] *= g
            continue
        limited = True
        need = np.minimum(np.float32(1.0), np.float32(ceiling) / np.maximum(env, np.float32(1e-9)))
        need = ndimage.minimum_filter1d(need, 2 * hold + 1, mode="nearest")
        smooth = ndimage.uniform_filter1d(need, ramp, mode="nearest")
        smooth = np.minimum(smooth, need)
        y[a:b] = ext[start:start + (b - a)] * smooth[start:start + (b - a), None]
    return limited


def master(y: np.ndarray, *, sr: int) -> None:
    """Master y (float32 (frames, 2)) in place to TARGET_LUFS with true peak <= CEILING_DBTP."""
    remove_dc_and_fade(y, sr=sr)
    for _ in range(3):
        lufs = integrated_loudness(y, sr=sr)
        if not np.isfinite(lufs) or lufs < SILENCE_LUFS:
            break  # silent: nothing to normalise
        if abs(lufs - TARGET_LUFS) < 0.05:
            break
        if not gain_and_limit(y, db_to_gain(TARGET_LUFS - lufs), sr=sr):
            break
    peak = true_peak(y, floor=db_to_gain(CEILING_DBTP - 1.0))
    ceiling = db_to_gain(CEILING_DBTP - 0.3)
    if peak > ceiling:
        y *= np.float32(ceiling / peak)
