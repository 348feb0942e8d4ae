"""Enveloped note waveforms of one render, built once per (program, pitch, brightness layer).

A note is tone x envelope x velocity gain. The held part of the envelope (attack, then a ring
decay or a decay onto the sustain level) does not depend on when the key is let go, so for
each *key* (program, pitch, velocity layer) the product H = tone x held envelope is computed
once, at the length the key's longest note needs; every note of that key is then a scaled
slice of H plus its release (the tone's next samples under a raised-cosine fall from the
level the envelope had reached). A key's arrays are dropped after its last note is taken.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from engine.score import GLIDE_SECONDS
from engine.synth.timbres import (
    TABLE,
    Ramps,
    Voice,
    midi_to_hz,
    settling,
    tone,
    velocity_gain,
    voice_for,
    wavetable,
)
from engine.synth.tonecache import ToneCache

LAYERS = 4  #: brightness layers across the velocity range (velocity // 32)


def attack_samples(voice: Voice, sr: int) -> int:
    """Samples of the attack (sin-squared rise); notes are held at least this long."""
    return max(int(voice.attack * sr), 32)


def release_samples(voice: Voice, sr: int) -> int:
    """Samples of the release (raised-cosine fall to exactly 0)."""
    return max(int(voice.release * sr), 256)


def envelope_length(voice: Voice, n_on: int, *, sr: int) -> int:
    """Samples of a note held for n_on samples, release included."""
    return max(n_on, attack_samples(voice, sr)) + release_samples(voice, sr)


@lru_cache(maxsize=64)
def release_shape(n_rel: int) -> np.ndarray:
    """0.5 + 0.5 cos(0 .. pi) over n_rel samples, float32, read-only (a pure memo)."""
    out = (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n_rel, dtype=np.float32))).astype(np.float32)
    out.flags.writeable = False
    return out


def held_envelope(voice: Voice, pitch: int, n: int, *, sr: int, ramps: Ramps) -> np.ndarray:
    """The envelope while the key is held, float32 (n,), n >= attack_samples: a sin-squared
    attack, then exp(-t/ring) for percussive voices (ring shorter for higher pitches), or a
    decay settling exactly onto the sustain level after 5 time constants."""
    n_att = attack_samples(voice, sr)
    if voice.ring is not None:
        ring = voice.ring * 2.0 ** (-(pitch - 60) / 24.0)
        out = np.exp(ramps.f32(n) * np.float32(-1.0 / (ring * sr)))
    else:
        full = int(5 * voice.decay / 3.0 * sr) + 1
        k = min(n, full)
        out = np.empty(n, np.float32)
        out[:k] = settling(voice.decay / 3.0, k, full - 1, sr=sr, ramps=ramps)
        out[:k] *= np.float32(1.0 - voice.sustain)
        out[:k] += np.float32(voice.sustain)
        out[k:] = np.float32(voice.sustain)
    out[:n_att] *= np.square(np.sin(ramps.f32(n_att) * np.float32(np.pi / (2 * n_att))))
    return out


@dataclass
class _Key:
    voice: Voice
    n_att: int
    n_rel: int
    longest: int = 0  #: longest held length (samples) of the key's notes
    left: int = 0  #: notes not yet taken
    levels: dict[int, float] = field(default_factory=dict)  #: held length -> envelope level at its end
    tone: np.ndarray | None = None  #: float32 (longest + n_rel,)
    held: np.ndarray | None = None  #: tone x held envelope, float32 (longest,)


class NoteBank:
    """The pitched notes of one render: `plan` every note first, then `note` each one (in any
    order) to get its waveform. Keys are synthesised on first use and freed after their last.
    Tones come from `tones` when given (shared across renders, same samples), else are computed."""

    def __init__(self, *, sr: int, tones: ToneCache | None = None):
        self.sr = sr
        self.ramps = Ramps()
        self._tone = tone if tones is None else tones.tone
        self._keys: dict[tuple[int, int, int], _Key] = {}

    @staticmethod
    def _key(program: int, pitch: int, velocity: int) -> tuple[int, int, int]:
        return program, pitch, min(LAYERS - 1, velocity // 32)

    def plan(self, program: int, pitch: int, velocity: int, n_on: int, glide: int = 0) -> int:
        """Register a note held for n_on samples; returns its length in samples (with release).
        Gliding notes (glide semitones) are synthesised on their own, not from the key's tone."""
        if glide:
            voice = voice_for(program)
            return max(n_on, attack_samples(voice, self.sr)) + release_samples(voice, self.sr)
        key = self._key(program, pitch, velocity)
        k = self._keys.get(key)
        if k is None:
            voice = voice_for(program)
            k = self._keys[key] = _Key(voice, attack_samples(voice, self.sr), release_samples(voice, self.sr))
        n_on = max(n_on, k.n_att)
        k.longest = max(k.longest, n_on)
        k.levels[n_on] = 0.0
        k.left += 1
        return n_on + k.n_rel

    def _build(self, key: tuple[int, int, int], k: _Key) -> None:
        _, pitch, layer = key
        k.tone = self._tone(k.voice, pitch, (layer + 0.5) / LAYERS, k.longest + k.n_rel, sr=self.sr, ramps=self.ramps)
        env = held_envelope(k.voice, pitch, k.longest, sr=self.sr, ramps=self.ramps)
        k.levels = {n_on: float(env[n_on - 1]) for n_on in k.levels}
        env *= k.tone[: k.longest]
        k.held = env

    def note(self, program: int, pitch: int, velocity: int, n_on: int, glide: int = 0) -> np.ndarray:
        """Mono float32 waveform of a planned note held for n_on samples, release included;
        it starts and ends at exactly 0."""
        if glide:
            return gliding_note(voice_for(program), pitch, glide, velocity, n_on, sr=self.sr, ramps=self.ramps)
        key = self._key(program, pitch, velocity)
        k = self._keys[key]
        if k.held is None:
            self._build(key, k)
        n_on = max(n_on, k.n_att)
        gain = np.float32(velocity_gain(velocity) * k.voice.gain)
        out = np.empty(n_on + k.n_rel, np.float32)
        np.multiply(k.held[:n_on], gain, out=out[:n_on])
        rel = out[n_on:]
        np.multiply(k.tone[n_on: n_on + k.n_rel], release_shape(k.n_rel), out=rel)
        rel *= np.float32(k.levels[n_on]) * gain
        out[-1] = 0.0
        k.left -= 1
        if k.left <= 0:
            del self._keys[key]
        return out


def gliding_note(voice: Voice, pitch: int, glide: int, velocity: int, n_on: int, *, sr: int,
                 ramps: Ramps) -> np.ndarray:
    """A note that starts `glide` semitones away from MIDI `pitch` and slides onto it over
    GLIDE_SECONDS (exponentially in frequency, i.e. linearly in pitch), as an 808 does: the
    voice's wavetable read with an integrated phase, under the voice's envelope. Float32
    (n_on + release,), starting and ending at 0."""
    n_on = max(n_on, attack_samples(voice, sr))
    n_rel = release_samples(voice, sr)
    n = n_on + n_rel
    f0 = midi_to_hz(pitch)
    t = ramps.f32(n).astype(np.float64) / sr
    semis = glide * np.clip(1.0 - t / GLIDE_SECONDS, 0.0, 1.0)
    cycles = np.cumsum(f0 * np.exp2(semis / 12.0)) / sr
    table = wavetable(f0 * 2.0 ** (max(glide, 0) / 12.0), voice.slope_bright, sr=sr, odd=voice.odd,
                      partials=voice.partials)
    y = table.take(((cycles * TABLE) % TABLE).astype(np.int64))
    env = held_envelope(voice, pitch, n_on, sr=sr, ramps=ramps)
    out = np.empty(n, np.float32)
    gain = np.float32(velocity_gain(velocity) * voice.gain)
    np.multiply(y[:n_on], env, out=out[:n_on])
    out[:n_on] *= gain
    out[n_on:] = y[n_on:] * release_shape(n_rel) * np.float32(env[-1]) * gain
    out[0] = out[-1] = 0.0
    return out
