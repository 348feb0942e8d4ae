"""A stereo convolution reverb: a seeded, exponentially decaying noise impulse response.

The bus is processed in place, block by block (overlap-add with a carried tail), so memory
stays at one block whatever the piece's length. The input is the mono sum of the bus; the
output is decorrelated left/right, which widens the image.
"""
from __future__ import annotations

import numpy as np
from scipy import fft, signal


def impulse_response(*, seed: int, sr: int, seconds: float = 1.3, rt60: float = 1.9,
                     predelay: float = 0.014) -> np.ndarray:
    """Stereo IR, float32 shape (n, 2): darkening noise decay with a few early reflections.

    Normalised to unit mean power gain over 200-4000 Hz per channel, so the wet level of tonal
    material is set by the send gain alone.
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
        i = int(delay * sr)
        ir[i, k % 2] += 0.9 * (0.8 ** k) * np.sqrt(sr / 1000.0) * 0.1
    ir[-int(0.1 * sr):] *= np.linspace(1.0, 0.0, int(0.1 * sr))[:, None]
    ir = np.concatenate([np.zeros((int(predelay * sr), 2)), ir])
    spec = np.abs(np.fft.rfft(ir, axis=0)) ** 2
    freqs = np.fft.rfftfreq(ir.shape[0], 1.0 / sr)
    band = (freqs >= 200.0) & (freqs <= 4000.0)
    ir /= np.sqrt(spec[band].mean(axis=0, keepdims=True))
    return ir.astype(np.float32)


def add_reverb(bus: np.ndarray, ir: np.ndarray, *, send: float) -> None:
    """bus (frames, 2) float32 += send * (mono(bus) convolved with ir (m, 2)), in place.

    The tail beyond the last frame is dropped (the master fades the end).
    """
    m = ir.shape[0]
    nfft = 1 << int(np.ceil(np.log2(max(4 * m, 1 << 15))))
    block = nfft - m + 1
    spec = fft.rfft(ir, nfft, axis=0)  # (nfft//2+1, 2) complex64
    carry = np.zeros((m - 1, 2), np.float32)
    frames = bus.shape[0]
    gain = np.float32(0.5 * send)
    for a in range(0, frames, block):
        x = bus[a:a + block]
        mono = (x[:, 0] + x[:, 1]) * gain
        wet = fft.irfft(fft.rfft(mono, nfft)[:, None] * spec, nfft, axis=0)[: len(x) + m - 1]
        wet[: m - 1] += carry
        x += wet[: len(x)]
        carry = wet[len(x): len(x) + m - 1]
        if carry.shape[0] < m - 1:
            break
