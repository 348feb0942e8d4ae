"""The whole pipeline for one spec: params -> Score -> samples or MIDI -> file bytes."""
from __future__ import annotations

from collections.abc import Callable

from engine.compose import params_to_score
from engine.encode import samples_to_mp3_bytes, samples_to_wav_bytes
from engine.errors import RenderError
from engine.midi import score_to_midi_bytes
from engine.spec import RenderSpec
from engine.synth import ToneCache, score_to_samples

Progress = Callable[[float], None]
"""Called with the fraction done, 0.0 .. 1.0."""


def render(spec: RenderSpec, *, progress: Progress | None = None,
           tones: ToneCache | None = None) -> bytes:
    """Render `spec` to the bytes of its format (WAV, MP3 or MIDI file). Deterministic.

    `tones`: a ToneCache kept by a long-lived caller across renders; it only saves time (the
    bytes are the same with or without it).
    """
    score = params_to_score(spec)
    if spec.format == "midi":
        data = score_to_midi_bytes(score)
        if progress:
            progress(1.0)
        return data
    samples = score_to_samples(score, sr=spec.sample_rate, progress=progress, tones=tones)
    if samples.shape != (spec.frames, 2):
        raise RenderError(f"synth returned {samples.shape}, expected ({spec.frames}, 2)")
    if spec.format == "mp3":
        return samples_to_mp3_bytes(samples, sr=spec.sample_rate)
    return samples_to_wav_bytes(samples, sr=spec.sample_rate)
