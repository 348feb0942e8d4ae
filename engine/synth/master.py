"""Mastering, in place on a float32 (frames, 2) bus: DC removal, edge fades, loudness
normalisation to -14 LUFS, and a look-ahead true-peak limiter keeping peaks <= -1 dBTP.

The loudness is measured while mixing (`LoudnessMeter` fed window by window); `finish` then
makes one chunked pass that applies DC, gain, fades and the limiter. Only if the limiter
worked is loudness measured again (and the pass repeated with a make-up gain). `finish`
reports what it did (`Mastered`), and `premaster` applies the same DC, gain and fades, without
the limiter, to a window of the bus or of one stem of it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from engine.synth.loudness import (
    CHUNK,
    TP_TAPS,
    LoudnessMeter,
    PeakInterpolator,
)

TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
LIMIT_DBTP = -1.5  #: the limiter aims a little under the ceiling (interpolator differences)
SILENCE_LUFS = -70.0
FADE_IN = 0.005  #: seconds
FADE_OUT = 0.040  #: seconds
CANDIDATE_DB = 4.0  #: frames this far below the limit are never inter-sample peaks above it


def db_to_gain(db: float) -> float:
    """Linear gain of a level in dB."""
    return float(10.0 ** (db / 20.0))


class Analysis:
    """What the mix pass learns about the bus: K-weighted loudness, DC, per-chunk peaks."""

    def __init__(self, frames: int, *, sr: int):
        self.frames, self.sr = frames, sr
        self.meter = LoudnessMeter(frames, sr=sr)
        self.sums = np.zeros(2, np.float64)
        self.energy = 0.0  #: sum of squares of all samples
        self.chunk_peak = np.zeros(-(-frames // CHUNK), np.float32)

    def feed(self, lr: np.ndarray, a: int) -> None:
        """Account for frames lr (float32 (2, n), left/right rows) starting at frame a
        (called in order, without gaps)."""
        self.meter.feed(lr)
        self.sums += lr.sum(axis=1, dtype=np.float64)
        self.energy += float(np.vdot(lr[0], lr[0])) + float(np.vdot(lr[1], lr[1]))
        n = lr.shape[1]
        for c in range(a // CHUNK, -(-(a + n) // CHUNK)):
            lo, hi = max(a, c * CHUNK) - a, min(a + n, (c + 1) * CHUNK) - a
            part = lr[:, lo:hi]
            peak = max(float(part.max(initial=0.0)), -float(part.min(initial=0.0)))
            self.chunk_peak[c] = max(self.chunk_peak[c], peak)

    @classmethod
    def of(cls, y: np.ndarray, *, sr: int) -> Analysis:
        """The analysis of a finished bus y (float32 (frames, 2)), read in chunks."""
        analysis = cls(len(y), sr=sr)
        for a in range(0, len(y), CHUNK):
            analysis.feed(np.ascontiguousarray(y[a:a + CHUNK].T), a)
        return analysis

    @property
    def dc(self) -> np.ndarray:
        """Mean of each channel, float32 (2,)."""
        return (self.sums / max(self.frames, 1)).astype(np.float32)


@dataclass(frozen=True)
class Mastered:
    """What `finish` did to the bus.

    gain: total linear master gain (the product over passes; 1.0 when silent).
    passes: mastering passes made (each applied the edge fades once); 0: silent, untouched.
    limiter_db: the largest gain reduction of the limiter, dB (0.0: it never acted).
    lufs: integrated loudness of the bus before mastering, LUFS.
    """

    gain: float
    passes: int
    limiter_db: float
    lufs: float

    @property
    def gain_db(self) -> float:
        """The master gain in dB."""
        return float(20.0 * np.log10(self.gain))


def _fade(y: np.ndarray, a: int, frames: int, sr: int) -> None:
    """Raised-cosine fade-in over the first FADE_IN s and fade-out over the last FADE_OUT s,
    applied to the frames [a, a + len(y)) of the piece."""
    n_in, n_out = min(frames, int(FADE_IN * sr)), min(frames, int(FADE_OUT * sr))
    if a < n_in:
        idx = np.arange(a, min(n_in, a + len(y)))
        y[: len(idx)] *= (0.5 - 0.5 * np.cos(np.pi * idx / n_in)).astype(np.float32)[:, None]
    if a + len(y) > frames - n_out:
        idx = np.arange(max(a, frames - n_out), a + len(y))
        ramp = (0.5 + 0.5 * np.cos(np.pi * (idx - (frames - n_out) + 1) / n_out)).astype(np.float32)
        y[idx - a] *= ramp[:, None]


def apply(y: np.ndarray, gain: float, dc: np.ndarray, chunk_peak: np.ndarray, *, sr: int,
          circular: bool = False) -> tuple[float, float]:
    """y = (y - dc) * gain with fades, ducking frames whose true peak would exceed LIMIT_DBTP.

    chunk_peak: sample peak of each CHUNK of y before this call (to skip quiet chunks).
    circular: y is a loop: no fades, and the limiter's look-ahead and hold see round the end to
    the start (and before the start, the end), so its gain joins up where the file repeats.
    Returns (the energy the limiter removed (sum of squares), its smallest gain (1.0: none)).
    The gain reduction is the running minimum of the needed gain over +-hold (look-ahead and
    hold), smoothed by a moving average of `ramp` frames, so it is reached before each peak and
    released smoothly after it.
    """
    frames = y.shape[0]
    ceiling = np.float32(db_to_gain(LIMIT_DBTP))
    floor = ceiling * np.float32(db_to_gain(-CANDIDATE_DB))
    hold, ramp = int(0.010 * sr), int(0.006 * sr)
    margin = hold + ramp + TP_TAPS
    g = np.float32(gain)
    interp = PeakInterpolator()
    removed, lowest = 0.0, 1.0
    has_dc = bool(np.abs(dc).max() > 1e-7)
    n_chunks = len(chunk_peak)
    edges = (chunk_peak[-1], chunk_peak[0]) if circular else (0.0, 0.0)
    padded = np.concatenate([[edges[0]], chunk_peak, [edges[1]]])
    loud = np.maximum(np.maximum(padded[:-2], padded[1:-1]), padded[2:]) * gain > floor
    # frames just before the chunk, as they were on entry (a loop's start follows its end)
    prev = y[-min(margin, frames):].copy() if circular else np.zeros((0, 2), np.float32)
    head = y[:margin].copy() if circular else None  # what follows a loop's end
    for c, a in enumerate(range(0, frames, CHUNK)):
        b = min(frames, a + CHUNK)
        tail = y[max(0, b - margin):b].copy() if c + 1 < n_chunks and loud[c + 1] else None
        if not loud[c]:
            if has_dc:
                for ch in (0, 1):
                    y[a:b, ch] -= dc[ch]
            y[a:b] *= g
        else:
            after = y[b:b + margin]
            if head is not None and len(after) < margin:
                after = np.concatenate([after, head[:margin - len(after)]])
            ext = np.concatenate([prev, y[a:b], after])
            for ch in (0, 1):
                ext[:, ch] -= dc[ch]
            ext *= g
            start = len(prev)
            peaks = interp.envelope(ext, floor)
            if peaks.max(initial=0.0) <= ceiling:
                y[a:b] = ext[start:start + (b - a)]
            else:
                need = np.minimum(np.float32(1.0), ceiling / np.maximum(peaks, np.float32(1e-9)))
                need = ndimage.minimum_filter1d(need, 2 * hold + 1, mode="nearest")
                smooth = np.minimum(ndimage.uniform_filter1d(need, ramp, mode="nearest"), need)
                core, g_core = ext[start:start + (b - a)], smooth[start:start + (b - a)]
                y[a:b, 0] = core[:, 0] * g_core
                y[a:b, 1] = core[:, 1] * g_core
                lost = (1.0 - np.square(g_core)) * (np.square(core[:, 0]) + np.square(core[:, 1]))
                removed += float(lost.sum(dtype=np.float64))
                lowest = min(lowest, float(g_core.min(initial=1.0)))
        if not circular:
            _fade(y[a:b], a, frames, sr)
        prev = tail if tail is not None else prev[:0]
    return removed, lowest


def finish(y: np.ndarray, analysis: Analysis, *, sr: int, circular: bool = False) -> Mastered:
    """Master y (float32 (frames, 2)) in place to TARGET_LUFS with true peak <= CEILING_DBTP.

    circular: y is a loop (see `apply`)."""
    lufs = analysis.meter.integrated()
    if not np.isfinite(lufs) or lufs < SILENCE_LUFS:
        return Mastered(1.0, 0, 0.0, float(lufs))  # silent: nothing to normalise
    first, total_gain, lowest, passes = float(lufs), 1.0, 1.0, 0
    for _ in range(3):
        gain = db_to_gain(TARGET_LUFS - lufs)
        removed, least = apply(y, gain, analysis.dc, analysis.chunk_peak, sr=sr, circular=circular)
        total_gain, lowest, passes = total_gain * gain, min(lowest, least), passes + 1
        total = analysis.energy * gain * gain
        if removed <= 0.02 * total:  # at most ~0.1 dB of loudness went into the limiter
            break
        # the limiter took audible loudness away: measure again and make it up
        analysis = Analysis.of(y, sr=sr)
        lufs = analysis.meter.integrated()
        if abs(lufs - TARGET_LUFS) < 0.3:
            break
    return Mastered(total_gain, passes, float(-20.0 * np.log10(max(lowest, 1e-9))) + 0.0, first)


def premaster(y: np.ndarray, a: int, *, frames: int, dc: np.ndarray, mastered: Mastered, sr: int,
              circular: bool = False) -> None:
    """In place on y (float32 (n, 2)), frames [a, a + n) of a piece of `frames` frames:
    (y - dc) * mastered.gain with the edge fades of each mastering pass (none for a loop,
    `circular`), i.e. what the limiter is given, un-limited. dc: float32 (2,), the mean to
    remove (a stem's own: they sum to the bus's). A silent piece (0 passes) is left as it is.
    """
    if mastered.passes == 0:
        return
    y -= dc
    y *= np.float32(mastered.gain)
    for _ in range(0 if circular else mastered.passes):
        _fade(y, a, frames, sr)
