"""Resonant's engine: a pure library that turns geometry into music, deterministically.

No Flask, no clock, no globals, no network. The pipeline:

    resolve_request(...)  -> RenderSpec        (engine.resolve)
    params_to_score(spec) -> Score             (engine.compose)
    score_to_samples(score, sr=...) -> float32 (frames, 2)   (engine.synth)
    score_to_midi_bytes(score) -> bytes        (engine.midi)
    samples_to_wav_bytes / samples_to_mp3_bytes              (engine.encode)
    score_to_stems_zip(score, path)            (engine.stems: one WAV per voice, MIDI, manifest)
    score_to_bus(score) -> float32, Mastered   (engine.synth: the mix before the limiter)
    render(spec) -> bytes                      (engine.render: all of the above)
    render_to_file(spec, path) -> size         (engine.render: the same, written to a file)

Names are imported lazily so `import engine.spec` stays light, and so the `render` function
exported here never shadows the `engine.render` module (`engine.render.render` is the function).
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RenderSpec": "engine.spec",
    "ENGINE_VERSION": "engine.spec",
    "Score": "engine.score",
    "Part": "engine.score",
    "Note": "engine.score",
    "params_to_score": "engine.compose",
    "score_to_samples": "engine.synth",
    "score_to_bus": "engine.synth",
    "score_to_stems_zip": "engine.stems",
    "score_to_midi_bytes": "engine.midi",
    "samples_to_wav_bytes": "engine.encode",
    "samples_to_mp3_bytes": "engine.encode",
    "render": "engine.render",
    "render_to_file": "engine.render",
    "resolve_request": "engine.resolve",
    "load_presets": "engine.presets",
    "PresetCatalog": "engine.presets",
    "resolve_prompt": "engine.prompt",
}

__all__ = [
    "ENGINE_VERSION",
    "Note",
    "Part",
    "PresetCatalog",
    "RenderSpec",
    "Score",
    "load_presets",
    "params_to_score",
    "render",
    "render_to_file",
    "resolve_prompt",
    "resolve_request",
    "samples_to_mp3_bytes",
    "samples_to_wav_bytes",
    "score_to_bus",
    "score_to_midi_bytes",
    "score_to_samples",
    "score_to_stems_zip",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
