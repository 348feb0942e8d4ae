"""Place every note of the pitched parts into a stereo bus.

Each unique (program, pitch, velocity, held-samples) note is synthesised once per call and added
at each of its onsets, panned with equal-power gains. The caches live in a `NoteCache` made
per render call (no module state), bounded in bytes.
"""
from __future__ import annotations

import numpy as np

from engine.score import Part
from engine.synth.timbres import envelope, tone, voice_for

CACHE_BYTES = 48 * 1024 * 1024  #: upper bound of cached note waveforms per render


def pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power (left, right) gains for pan -1 (left) .. +1 (right); centre = 0.707 each."""
    theta = (min(max(pan, -1.0), 1.0) + 1.0) * np.pi / 4.0
    return float(np.cos(theta)), float(np.sin(theta))


def velocity_gain(velocity: int) -> float:
    """Linear amplitude for a MIDI velocity 1..127 (about 30 dB of range)."""
    return (max(1, min(127, velocity)) / 127.0) ** 1.7


class NoteCache:
    """Waveforms of the notes of one render, keyed by what determines their samples."""

    def __init__(self, sr: int):
        self.sr = sr
        self._tones: dict[tuple, np.ndarray] = {}
        self._notes: dict[tuple, np.ndarray] = {}
        self._bytes = 0

    def _tone(self, program: int, pitch: int, bucket: int, n: int) -> np.ndarray:
        key = (program, pitch, bucket)
        have = self._tones.get(key)
        if have is None or len(have) < n:
            n_make = max(n, int(0.5 * self.sr))
            have = tone(voice_for(program), pitch, (bucket + 0.5) / 4.0, n_make, sr=self.sr)
            self._remember(self._tones, key, have)
        return have

    def _remember(self, store: dict, key: tuple, value: np.ndarray) -> None:
        old = store.get(key)
        if old is not None:
            self._bytes -= old.nbytes
        if self._bytes + value.nbytes > CACHE_BYTES:
            self._tones.clear()
            self._notes.clear()
            self._bytes = 0
        store[key] = value
        self._bytes += value.nbytes

    def note(self, program: int, pitch: int, velocity: int, n_on: int) -> np.ndarray:
        """Mono float32 waveform of one note held for n_on samples, release tail included."""
        key = (program, pitch, velocity, n_on)
        wave = self._notes.get(key)
        if wave is None:
            voice = voice_for(program)
            env = envelope(voice, pitch, n_on, sr=self.sr)
            env *= np.float32(velocity_gain(velocity) * voice.gain)
            bucket = min(3, velocity // 32)
            wave = self._tone(program, pitch, bucket, len(env))[: len(env)] * env
            self._remember(self._notes, key, wave)
        return wave


def add_part(bus: np.ndarray, part: Part, cache: NoteCache) -> None:
    """Add a pitched part into `bus` (float32, shape (frames, 2)) in place, truncating at the end."""
    sr = cache.sr
    frames = bus.shape[0]
    gains = np.asarray(pan_gains(part.pan), np.float32)
    for note in part.notes:
        start = round(note.start * sr)
        if start >= frames:
            continue
        n_on = max(1, round((note.end - note.start) * sr))
        n_on = -(-n_on // 64) * 64  # quantise held length to 64 samples (1.5 ms): more cache hits
        wave = note_wave = cache.note(part.program, note.pitch, note.velocity, n_on)
        stop = min(frames, start + len(note_wave))
        wave = note_wave[: stop - start]
        bus[start:stop] += wave[:, None] * gains
