"""Hand-built Scores for the renderer tests (no composer needed), plus shared audio measures."""
from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from scipy import signal

from engine.score import Note, Part, Score

SR = 44100
CHORDS = ((48, 52, 55, 60), (53, 57, 60, 65), (55, 59, 62, 67), (48, 52, 55, 60))  # I IV V I


def _sorted(notes: list[Note]) -> tuple[Note, ...]:
    return tuple(sorted(notes, key=lambda n: (n.start, n.pitch)))


def cadence(duration: float = 8.0, *, tempo: float = 120.0, seed: int = 1234, drums: bool = True,
            programs: tuple[int, int, int, int] = (33, 0, 73, 89)) -> Score:
    """A C-major I-IV-V-I loop: bass, harmony, melody (8ths), pad, and optionally a kit."""
    beat = 60.0 / tempo
    bass, harm, mel, pad, kit = [], [], [], [], []
    t, i = 0.0, 0
    while t < duration - 1e-9:
        chord = CHORDS[(i // 4) % 4]
        end = min(duration, t + beat)
        bass.append(Note(t, min(duration, t + 0.9 * beat), chord[0] - 12, 100))
        harm += [Note(t, end, p, 70) for p in chord[1:]]
        mel.append(Note(t, min(duration, t + beat / 2), chord[i % 3 + 1] + 12, 90))
        if t + beat / 2 < duration:
            mel.append(Note(t + beat / 2, end, chord[(i + 1) % 3 + 1] + 12, 80))
        if i % 4 == 0:
            pad.append(Note(t, min(duration, t + 4 * beat), chord[0] + 12, 60))
        kit.append(Note(t, min(duration, t + 0.1), 36 if i % 2 == 0 else 38, 110))
        kit.append(Note(t, min(duration, t + 0.05), 42, 80))
        if t + beat / 2 < duration:
            kit.append(Note(t + beat / 2, min(duration, t + beat / 2 + 0.05), 42, 60))
        t += beat
        i += 1
    parts = [Part("bass", programs[0], False, -0.1, _sorted(bass)),
             Part("harmony", programs[1], False, -0.5, _sorted(harm)),
             Part("melody", programs[2], False, 0.5, _sorted(mel)),
             Part("pad", programs[3], False, 0.0, _sorted(pad))]
    if drums:
        parts.append(Part("drums", 0, True, 0.0, _sorted(kit)))
    return Score(tempo, duration, 0, seed, tuple(parts))


def one_note(program: int, *, pitch: int = 60, duration: float = 2.0, pan: float = 0.0,
             is_drum: bool = False, velocity: int = 100) -> Score:
    """A single note held for most of the piece."""
    note = Note(0.1, duration - 0.3, pitch, velocity)
    return Score(120.0, duration, 0, 7, (Part("solo", program, is_drum, pan, (note,)),))


def decode_wav(data: bytes) -> np.ndarray:
    """WAV bytes -> float64 (frames, 2)."""
    y, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    assert sr == SR
    return y


def true_peak_dbtp(y: np.ndarray) -> float:
    """4x oversampled peak (scipy.signal.resample_poly), dBTP."""
    up = signal.resample_poly(np.asarray(y, np.float64), 4, 1, axis=0)
    return float(20 * np.log10(max(np.max(np.abs(up)), 1e-12)))


def longest_silence(y: np.ndarray, *, sr: int = SR, floor_db: float = -60.0) -> float:
    """Longest run (seconds) of 50 ms windows whose RMS is below floor_db dBFS."""
    win = int(0.05 * sr)
    n = len(y) // win
    rms = np.sqrt(np.mean(np.square(y[: n * win]).reshape(n, win, -1), axis=(1, 2)))
    quiet = 20 * np.log10(np.maximum(rms, 1e-12)) < floor_db
    best = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        best = max(best, run)
    return best * win / sr


def click_score(y: np.ndarray, *, sr: int = SR) -> float:
    """How click-like the worst moment is: the peak of the second difference in each 1 ms
    window over the RMS of the second difference around it (+-50 ms). Smooth music stays low
    (< ~8); a step or a cut-off waveform gives a spike far above the local level."""
    mono = y.mean(axis=1) if y.ndim == 2 else y
    d2 = np.abs(np.diff(mono, 2))
    win = int(0.001 * sr)
    n = len(d2) // win
    peak = d2[: n * win].reshape(n, win).max(axis=1)
    energy = np.square(d2[: n * win]).reshape(n, win).mean(axis=1)
    local = np.sqrt(np.convolve(energy, np.ones(101) / 101, mode="same"))
    floor = 1e-5 * max(np.max(np.abs(mono)), 1e-9)
    return float(np.max(peak / (local + floor)))


def spectral_centroid(y: np.ndarray, *, sr: int = SR) -> float:
    """Power-weighted mean frequency (Hz) of y's mono sum."""
    mono = y.mean(axis=1) if y.ndim == 2 else y
    spec = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / sr)
    return float(np.sum(freqs * spec) / np.sum(spec))


def harmonic_profile(y: np.ndarray, f0: float, *, sr: int = SR, count: int = 10) -> np.ndarray:
    """Levels (dB, relative to the strongest) of harmonics 1..count of f0 in y's mono sum."""
    mono = y.mean(axis=1) if y.ndim == 2 else y
    spec = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    freqs = np.fft.rfftfreq(len(mono), 1 / sr)
    levels = []
    for h in range(1, count + 1):
        band = np.abs(freqs - h * f0) < 0.03 * f0
        levels.append(spec[band].max(initial=1e-12))
    db = 20 * np.log10(np.maximum(np.array(levels), 1e-12))
    return np.maximum(db - db.max(), -80.0)
