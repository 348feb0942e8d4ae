"""Loudness (ITU-R BS.1770 integrated, gated) and true peak, measured in chunks.

The K-weighting filters are pyloudnorm's own (`pyloudnorm.Meter(sr)._filters`), run over the
signal chunk by chunk with carried filter state, so a 300 s buffer is never copied whole; the
gating (400 ms blocks, 75 % overlap, -70 LUFS absolute and -10 LU relative gates) follows
pyloudnorm's `integrated_loudness` block for block. True peak is a 4x polyphase-interpolated
peak, evaluated only where samples come near the level asked about.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyloudnorm
from scipy import signal

CHUNK = 1 << 16  #: frames per processing chunk
TP_TAPS = 24  #: taps per polyphase branch of the 4x true-peak interpolator


@lru_cache(maxsize=8)
def k_weighting_sos(sr: int) -> np.ndarray:
    """pyloudnorm's K-weighting stages as a float32 second-order-sections array (n, 6),
    read-only (a pure memo of a function of sr)."""
    stages = list(pyloudnorm.Meter(sr)._filters.values())
    sos = np.array([np.r_[s.b, s.a] for s in stages], np.float64)
    sos[0, :3] *= np.prod([s.passband_gain for s in stages])
    sos = sos.astype(np.float32)
    sos.flags.writeable = False
    return sos


class LoudnessMeter:
    """Integrated loudness of a stereo signal fed in consecutive pieces (float32 (n, 2))."""

    def __init__(self, frames: int, *, sr: int):
        self.frames, self.sr = frames, sr
        self.sos = k_weighting_sos(sr).copy()  # (sosfilt wants a writable sos)
        self.zi = np.zeros((self.sos.shape[0], 2, 2), np.float32)
        self.hop = round(0.1 * sr)
        self.energy = np.zeros(-(-frames // self.hop) + 1, np.float64)  # per 100 ms hop
        self.pos = 0

    def feed(self, lr: np.ndarray) -> None:
        """K-weight the next frames lr (float32 (2, n): left/right rows) and add their energy
        (sum of channels) per 100 ms hop."""
        k, self.zi = signal.sosfilt(self.sos, lr, axis=1, zi=self.zi)
        sq = np.square(k[0]) + np.square(k[1])
        first = self.pos // self.hop
        lead = min(len(sq), (first + 1) * self.hop - self.pos)  # finish the current hop
        self.energy[first] += float(sq[:lead].sum(dtype=np.float64))
        rest = sq[lead:]
        full = len(rest) // self.hop
        if full:
            self.energy[first + 1: first + 1 + full] += rest[: full * self.hop].reshape(full, self.hop).sum(
                axis=1, dtype=np.float64)
        if len(rest) > full * self.hop:
            self.energy[first + 1 + full] += float(rest[full * self.hop:].sum(dtype=np.float64))
        self.pos += lr.shape[1]

    def integrated(self) -> float:
        """Integrated loudness in LUFS of everything fed; -inf for silence or < 400 ms."""
        n_blocks = int(np.round((self.frames / self.sr - 0.4) / 0.1)) + 1
        if n_blocks < 1:
            return float("-inf")
        padded = np.concatenate([self.energy, np.zeros(4)])
        z = sum(padded[i:i + n_blocks] for i in range(4)) / (0.4 * self.sr)
        with np.errstate(divide="ignore"):
            block_lufs = -0.691 + 10.0 * np.log10(z)
        gated = z[block_lufs >= -70.0]
        if gated.size == 0:
            return float("-inf")
        relative = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
        keep = z[(block_lufs > relative) & (block_lufs > -70.0)]
        return float(-0.691 + 10.0 * np.log10(keep.mean())) if keep.size else float("-inf")


def integrated_loudness(y: np.ndarray, *, sr: int) -> float:
    """Integrated loudness in LUFS of y (float32, shape (frames, 2)); -inf for silence."""
    meter = LoudnessMeter(y.shape[0], sr=sr)
    for a in range(0, y.shape[0], CHUNK):
        meter.feed(np.ascontiguousarray(y[a:a + CHUNK].T))
    return meter.integrated()


class PeakInterpolator:
    """4x oversampling by Kaiser-windowed sinc branches (phases 1/4, 2/4, 3/4), TP_TAPS taps."""

    def __init__(self):
        k = np.arange(TP_TAPS) - (TP_TAPS // 2 - 1)
        window = np.kaiser(TP_TAPS, 8.0)
        self.offsets = k
        self.taps = np.array([np.sinc(k - p) * window for p in (0.25, 0.5, 0.75)], np.float32)

    def envelope(self, x: np.ndarray, floor: float) -> np.ndarray:
        """Per-frame true peak of x (float32 (frames, 2)): max |.| over channels of the frame
        and of the three interpolated points after it, float32 (frames,). Only the intervals
        either side of local maxima of |x| above `floor` are interpolated (that is where
        inter-sample peaks are); other frames keep their sample peak.
        """
        mag = np.maximum(np.abs(x[:, 0]), np.abs(x[:, 1]))
        hot = mag > floor
        if len(mag) > 2:  # an inter-sample peak sits next to a local maximum of |x|
            hot[1:-1] &= (mag[1:-1] >= mag[:-2]) & (mag[1:-1] >= mag[2:])
        cand = np.flatnonzero(hot)
        if cand.size == 0:
            return mag
        cand = np.union1d(cand - 1, cand)
        cand = cand[(cand >= 0) & (cand < len(mag))]
        out = mag.copy()
        for s in range(0, cand.size, 4096):
            c = cand[s:s + 4096]
            idx = np.clip(c[:, None] + self.offsets[None, :], 0, len(mag) - 1)
            vals = np.einsum("ktc,pt->kpc", x[idx], self.taps)  # (k, 3 phases, 2 channels)
            out[c] = np.maximum(out[c], np.abs(vals).max(axis=(1, 2)))
        return out


def true_peak(y: np.ndarray) -> float:
    """True peak (linear, 4x oversampled) of y (float32 (frames, 2)), computed in chunks."""
    interp = PeakInterpolator()
    frames, best = y.shape[0], 0.0
    for a in range(0, frames, CHUNK):
        lo, hi = max(0, a - TP_TAPS), min(frames, a + CHUNK + TP_TAPS)
        env = interp.envelope(y[lo:hi], 0.5 * best)
        best = max(best, float(env[a - lo: a - lo + min(CHUNK, frames - a)].max(initial=0.0)))
    return best
