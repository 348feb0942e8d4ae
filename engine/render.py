"""The whole pipeline for one spec: params -> Score -> samples or MIDI -> a file.

`render` returns the file's bytes; `render_to_file` writes it to a path, which is how the stems
ZIP is made (written as it is rendered, never whole in memory).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from engine.compose import params_to_score
from engine.encode import samples_to_mp3_bytes, samples_to_wav_bytes
from engine.errors import RenderError
from engine.midi import score_to_midi_bytes
from engine.spec import RenderSpec
from engine.stems import score_to_stems_zip
from engine.synth import ToneCache, score_to_samples

Progress = Callable[[float], None]
"""Called with the fraction done, 0.0 .. 1.0."""


def render(spec: RenderSpec, *, progress: Progress | None = None,
           tones: ToneCache | None = None) -> bytes:
    """Render `spec` to the bytes of its format (WAV, MP3, MIDI or stems ZIP file). Deterministic.

    `tones`: a ToneCache kept by a long-lived caller across renders; it only saves time (the
    bytes are the same with or without it). A stems ZIP is made in a temporary file and read
    back: `render_to_file` avoids holding it in memory.
    """
    if spec.format == "stems":
        with tempfile.TemporaryDirectory(prefix="resonant-stems-") as folder:
            path = os.path.join(folder, "stems.zip")
            render_to_file(spec, path, progress=progress, tones=tones)
            with open(path, "rb") as fh:
                return fh.read()
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
        return samples_to_mp3_bytes(samples, sr=spec.sample_rate, gapless=spec.loop)
    return samples_to_wav_bytes(samples, sr=spec.sample_rate)


def render_to_file(spec: RenderSpec, path: str, *, progress: Progress | None = None,
                   tones: ToneCache | None = None) -> int:
    """Render `spec` into the file `path` (created or overwritten, not atomically: the caller
    writes to a temporary name and renames it). Returns the file's size in bytes.

    The same bytes as `render(spec)`. Stems are written as they are rendered (scratch files go
    in a temporary folder beside `path`); the other formats are rendered to bytes, then written.
    """
    if spec.format == "stems":
        info = {"job_id": spec.id, "engine_version": spec.engine_version}
        score_to_stems_zip(params_to_score(spec), path, sr=spec.sample_rate, info=info, progress=progress,
                           tones=tones)
        return os.path.getsize(path)
    data = render(spec, progress=progress, tones=tones)
    with open(path, "wb") as fh:
        fh.write(data)
    return len(data)
