"""Loudness (ITU-R BS.1770 integrated, gated) and true peak, measured in chunks.

The K-weighting filters are pyloudnorm's own (`pyloudnorm.Meter(sr)._filters`), run over the
signal chunk by chunk with carried filter state, so a 300 s buffer is never copied whole; the
gating (400 ms blocks, 75 % overlap, -70 LUFS absolute and -10 LU relative gates) follows
pyloudnorm's `integrated_loudness` block for block. True peak is a 4x polyphase-interpolated
peak, evaluated only where samples come within 6 dB of the level asked about.
"""
from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy import signal

CHUNK = 1 << 16  #: frames per processing chunk
TP_TAPS = 32  #: taps per polyphase branch of the 4x true-peak interpolator


def k_weighting_sos(sr: int) -> np.ndarray:
    """pyloudnorm's K-weighting stages as a float32 second-order-sections array (n, 6)."""
    stages = pyloudnorm.Meter(sr)._filters.values()
    sos = np.array([np.r_[s.b, s.a] for s in stages], np.float64)
    sos[0, :3] *= np.prod([s.passband_gain for s in stages])
    return sos.astype(np.float32)


def integrated_loudness(y: np.ndarray, *, sr: int) -> float:
    """Integrated loudness in LUFS of y (float32, shape (frames, 2)); -inf for silence."""
    frames = y.shape[0]
    sos = k_weighting_sos(sr)
    zi = np.zeros((sos.shape[0], 2, 2), np.float32)
    hop = round(0.1 * sr)
    n_hops = -(-frames // hop)
    energy = np.zeros(n_hops, np.float64)  # sum over channels of squared K-weighted samples
    chunk = hop * (CHUNK // hop)
    for a in range(0, frames, chunk):
        x = np.ascontiguousarray(y[a:a + chunk].T)
        k, zi = signal.sosfilt(sos, x, axis=1, zi=zi)
        sq = np.square(k, dtype=np.float32).sum(axis=0, dtype=np.float64)
        pad = -len(sq) % hop
        sq = np.concatenate([sq, np.zeros(pad)]) if pad else sq
        energy[a // hop: a // hop + len(sq) // hop] = sq.reshape(-1, hop).sum(axis=1)
    n_blocks = int(np.round((frames / sr - 0.4) / 0.1)) + 1
    if n_blocks < 1 or n_hops < 1:
        return float("-inf")
    padded = np.concatenate([energy, np.zeros(4)])
    z = sum(padded[i:i + n_blocks] for i in range(4)) / (0.4 * sr)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(z)
    gated = z[block_lufs >= -70.0]
    if gated.size == 0:
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
    keep = z[(block_lufs > relative) & (block_lufs > -70.0)]
    if keep.size == 0:
        return float("-inf")
    return float(-0.691 + 10.0 * np.log10(keep.mean()))


def _interpolator() -> np.ndarray:
    """Kaiser-windowed sinc branches for 4x oversampling: float32 (3, TP_TAPS), phases 1/4..3/4."""
    k = np.arange(TP_TAPS) - (TP_TAPS // 2 - 1)
    branches = []
    for p in (0.25, 0.5, 0.75):
        x = k - p
        w = np.kaiser(TP_TAPS, 8.0)
        branches.append(np.sinc(x) * w)
    return np.array(branches, np.float32)


def true_peak_envelope(x: np.ndarray, floor: float) -> np.ndarray:
    """Per-frame true peak of x (float32 (frames, 2)): max |.| over channels of the frame and of
    the three 4x-interpolated points after it. Frames whose neighbourhood stays below `floor`
    keep their sample peak (the interpolation only runs near the level of interest).
    Returns float32 (frames,).
    """
    mag = np.max(np.abs(x), axis=1)
    cand = np.flatnonzero(mag > floor)
    if cand.size == 0:
        return mag
    cand = np.unique(np.concatenate([cand - 1, cand]))
    cand = cand[(cand >= 0) & (cand < len(mag))]
    h = _interpolator()
    offsets = np.arange(TP_TAPS) - (TP_TAPS // 2 - 1)
    out = mag.copy()
    for s in range(0, cand.size, 8192):
        c = cand[s:s + 8192]
        idx = np.clip(c[:, None] + offsets[None, :], 0, len(mag) - 1)
        vals = np.einsum("ktc,pt->kpc", x[idx], h)  # (k, 3 phases, 2 channels)
        peaks = np.max(np.abs(vals), axis=(1, 2))
        out[c] = np.maximum(out[c], peaks)
    return out


def true_peak(y: np.ndarray, *, floor: float = 0.0) -> float:
    """True peak (linear, 4x oversampled) of y (float32 (frames, 2)), computed in chunks.

    Only frames within 6 dB of the running maximum are interpolated, so the answer is exact
    for any peak above `floor` and the sample peak otherwise.
    """
    frames = y.shape[0]
    best = 0.0
    margin = TP_TAPS
    for a in range(0, frames, CHUNK):
        lo, hi = max(0, a - margin), min(frames, a + CHUNK + margin)
        env = true_peak_envelope(y[lo:hi], 0.5 * max(best, floor))
        best = max(best, float(env[a - lo: a - lo + min(CHUNK, frames - a)].max(initial=0.0)))
    return best
