"""A stereo convolution reverb: a seeded, exponentially decaying noise impulse response.

`Reverb.process` takes one block of the mono send and adds the wet stereo signal into the
matching block of the bus, carrying the tail into the next block (overlap-add), so memory
stays at one block whatever the piece's length. Left and right IRs are independent noise,
which widens the image. The room is the same for every piece (its noise is a fixed seeded
generator), so its spectrum depends only on (sr, FFT length) and is memoised.

The wet path runs at half the sample rate: the send is decimated by 2 with a 19-tap halfband
FIR, convolved with an IR generated at sr / 2, and the wet is interpolated back with the same
halfband (flat to 8 kHz, -2.4 dB at 10 kHz, images and aliases >= 14 kHz down 50 dB; a room
absorbs the highs anyway). The FFTs are half the size, and the halfband's zeros make each
polyphase branch a 10-tap FIR or a plain delay. The two filters' 18-frame delay is taken out
of the IR's predelay, so the wet lines up with the dry as before.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft, signal

#: Seed of the room's noise: the room is part of the engine, not of a piece. Any noise room
#: colours single partials by a few dB; of 17 candidate seeds (0-16) this one keeps the GM
#: families' partial profiles most distinct (smallest pairwise distance 4.0 dB, range 1.5-4.0
#: over the seeds, with the half-rate room), as measured by
#: tests/test_synth_render.py::test_timbres_differ_between_families.
IR_SEED = 15
NFFT_SIZES = 3  #: FFT lengths tried: the smallest power of two >= 2 x IR length, and 2x, 4x
NFFT_SLACK = 1.15  #: a shorter FFT (less memory) is taken if it costs at most this much more
HALFBAND_TAPS = 19  #: length of the decimating / interpolating halfband FIR (centre tap 9)
HALFBAND_PASS = 8000.0  #: its passband edge in Hz at 44.1 kHz (stopband from sr / 2 - this)


@lru_cache(maxsize=4)
def halfband(sr: int) -> np.ndarray:
    """The halfband's even-indexed taps (float32, 10, read-only); its other taps are 0 except the
    centre, 0.5. Equiripple design, normalised to unit DC gain."""
    h = signal.remez(HALFBAND_TAPS, [0.0, HALFBAND_PASS * sr / 44100, sr / 2 - HALFBAND_PASS * sr / 44100, sr / 2],
                     [1.0, 0.0], fs=sr)
    even = h[0::2] * (0.5 / h[0::2].sum())  # the centre tap (0.5) carries the other half
    even = even.astype(np.float32)
    even.flags.writeable = False
    return even


def impulse_response(*, sr: int, seconds: float = 1.2, rt60: float = 1.8,
                     predelay: float = 0.014) -> np.ndarray:
    """Stereo IR, float32 shape (n, 2): darkening noise decay with a few early reflections.

    Not normalised: `Reverb` scales it to unit mean power gain over 200-4000 Hz.
    """
    rng = np.random.default_rng(np.random.SeedSequence([IR_SEED]))
    n = int(seconds * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal((n, 2))
    low = signal.sosfilt(signal.butter(2, 4500.0, "low", fs=sr, output="sos"), noise, axis=0)
    high = noise - low
    tau = rt60 / 6.91
    ir = low * np.exp(-t / tau)[:, None] + 0.5 * high * np.exp(-t / (0.35 * tau))[:, None]
    ir *= np.minimum(t / 0.03, 1.0)[:, None]  # soft onset of the diffuse tail
    for k, delay in enumerate((0.011, 0.017, 0.023, 0.031, 0.041, 0.053)):
        ir[int(delay * sr), k % 2] += 0.09 * (0.8 ** k) * np.sqrt(sr / 1000.0)
    ir[-int(0.1 * sr):] *= np.linspace(1.0, 0.0, int(0.1 * sr))[:, None]
    return np.concatenate([np.zeros((int(predelay * sr), 2)), ir]).astype(np.float32)


def ir_length(sr: int) -> int:
    """Frames of `impulse_response(sr=sr)`."""
    return int(0.014 * sr) + int(1.2 * sr)


def _delay(sr: int) -> int:
    """Low-rate frames of the decimator's plus the interpolator's delay (2 x 9 at the full rate)."""
    return HALFBAND_TAPS // 2


@lru_cache(maxsize=4)
def ir_spectra(sr: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """rfft (complex64, read-only) of the left and right IR at FFT length nfft, each scaled to
    unit mean power gain over 200-4000 Hz (so the send level sets the wet level). A pure memo
    of a function of (sr, nfft): <= 4 MB per entry."""
    ir = impulse_response(sr=sr)[_delay(sr):]  # the halfbands supply this delay
    band = fft.rfftfreq(nfft, 1.0 / sr)
    band = (band >= 200.0) & (band <= 4000.0)
    out = []
    for ch in (0, 1):
        spec = fft.rfft(ir[:, ch].astype(np.float64), nfft)
        power = float(np.mean(spec[band].real ** 2 + spec[band].imag ** 2))
        spec = (spec / np.sqrt(power)).astype(np.complex64)
        spec.flags.writeable = False
        out.append(spec)
    return out[0], out[1]


def fft_length(m: int, frames: int) -> int:
    """The power-of-two FFT length (>= 2m) that convolves `frames` frames with an m-frame IR
    in the fewest operations (blocks x nfft log nfft), or the shortest within NFFT_SLACK of it."""
    base = 1 << (2 * m - 1).bit_length()
    sizes = [base << i for i in range(NFFT_SIZES)]
    cost = [-(-max(frames, 1) // (nfft - m + 1)) * nfft * nfft.bit_length() for nfft in sizes]
    return next(nfft for nfft, c in zip(sizes, cost) if c <= NFFT_SLACK * min(cost))


class Reverb:
    """Block convolution of a mono send with the stereo room IR at half rate, tail carried over.

    Blocks (every call but the last is `block` frames, an even number) go through a halfband
    decimator, an overlap-add FFT convolution at sr / 2 and a halfband interpolator, each of
    which carries its state into the next block."""

    def __init__(self, *, sr: int, frames: int):
        self.sr = sr // 2  #: rate of the convolution
        self.m = ir_length(self.sr) - _delay(self.sr)
        self.nfft = fft_length(self.m, -(-frames // 2))
        self.block = 2 * (self.nfft - self.m + 1)  #: frames per call of `process` (even)
        self.spec_l, self.spec_r = ir_spectra(self.sr, self.nfft)
        self.carry = np.zeros((2, self.m - 1), np.float32)
        self.taps = halfband(sr)  # (10,) even taps; the odd branch is 0.5 x a 9-frame delay
        self.up_taps = 2.0 * self.taps
        self.k = len(self.taps) - 1  # 9
        self.send_hist = np.zeros(2 * self.k, np.float32)  # last 18 full-rate send frames
        self.wet_hist = np.zeros((2, self.k), np.float32)  # last 9 low-rate wet frames
        self.odd_frames = False  # a block of odd length must be the last

    def process(self, send: np.ndarray, lr: np.ndarray) -> None:
        """lr (2, n) += wet of send (n,) plus the carried tail; n <= block."""
        if self.odd_frames:
            raise ValueError("only the last block may have an odd length")
        n = len(send)
        self.odd_frames = n % 2 == 1
        k = self.k
        # Decimate: d[j] = sum_i taps[i] x[2j - 2i] + 0.5 x[2j - 9], j over this block's even frames.
        xb = np.concatenate([self.send_hist, send])
        nd = (n + 1) // 2
        low = np.convolve(xb[0::2], self.taps, "valid")[:nd]
        low += np.float32(0.5) * xb[k: k + 2 * nd: 2]
        self.send_hist = xb[len(xb) - 2 * k:]
        spec = fft.rfft(low, self.nfft)
        for ch, h in enumerate((self.spec_l, self.spec_r)):
            wet = fft.irfft(spec * h, self.nfft)[: nd + self.m - 1]
            wet[: self.m - 1] += self.carry[ch]
            self.carry[ch] = wet[nd:]
            # Interpolate: u[2p] = sum_i 2 taps[i] w[p - i], u[2p + 1] = w[p - 4].
            wb = np.concatenate([self.wet_hist[ch], wet[:nd]])
            lr[ch, 0::2] += np.convolve(wb, self.up_taps, "valid")[:nd]
            lr[ch, 1::2] += wb[k - 4: k - 4 + n // 2]
            self.wet_hist[ch] = wb[nd:]
