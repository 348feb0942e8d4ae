"""A stereo convolution reverb: a seeded, exponentially decaying noise impulse response.

`Reverb.process` takes one block of the mono send and adds the wet stereo signal into the
matching block of the bus, carrying the tail into the next block (overlap-add), so memory
stays at one block whatever the piece's length. Left and right IRs are independent noise,
which widens the image.
"""
from __future__ import annotations

import numpy as np
from scipy import fft, signal

NFFT = 1 << 18  #: FFT length of the block convolution


def impulse_response(*, seed: int, sr: int, seconds: float = 1.2, rt60: float = 1.8,
                     predelay: float = 0.014) -> np.ndarray:
    """Stereo IR, float32 shape (n, 2): darkening noise decay with a few early reflections.

    Not normalised: `Reverb` scales it to unit mean power gain over 200-4000 Hz.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed & (2**63 - 1), 0x5EB]))
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


class Reverb:
    """Block convolution of a mono send with a stereo IR (float32 (m, 2)), tail carried over;
    the IR is scaled to unit mean power gain over 200-4000 Hz."""

    def __init__(self, ir: np.ndarray, *, sr: int):
        self.m = ir.shape[0]
        self.nfft = NFFT
        while self.nfft < 2 * self.m:
            self.nfft *= 2
        self.block = self.nfft - self.m + 1  #: frames per call of `process`
        freqs = fft.rfftfreq(self.nfft, 1.0 / sr)
        band = (freqs >= 200.0) & (freqs <= 4000.0)
        self.spec_l, self.spec_r = (self._normalised(fft.rfft(ir[:, ch], self.nfft), band) for ch in (0, 1))
        self.carry = np.zeros((2, self.m - 1), np.float32)

    @staticmethod
    def _normalised(spec: np.ndarray, band: np.ndarray) -> np.ndarray:
        """spec scaled to unit mean power gain in `band` (so the send level sets the wet level)."""
        power = float(np.mean(spec[band].real ** 2 + spec[band].imag ** 2))
        return (spec / np.float32(np.sqrt(power))).astype(np.complex64)

    def process(self, send: np.ndarray, lr: np.ndarray) -> None:
        """lr (2, n) += wet of send (n,) plus the carried tail; n <= block."""
        n = len(send)
        spec = fft.rfft(send, self.nfft)
        for ch, h in enumerate((self.spec_l, self.spec_r)):
            wet = fft.irfft(spec * h, self.nfft)[: n + self.m - 1]
            wet[: self.m - 1] += self.carry[ch]
            lr[ch] += wet[:n]
            self.carry[ch] = wet[n:]
