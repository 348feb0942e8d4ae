"""Score -> stereo samples: Resonant's synthesiser.

`score_to_samples(score, sr=44100)` renders every part (pitched voices from `timbres`, GM
percussion from `drums`), adds a convolution reverb, and masters the bus to -14 LUFS with true
peak <= -1 dBTP. Pure and deterministic: the same Score gives the same samples, bit for bit.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.score import Score
from engine.synth.drums import add_drums
from engine.synth.master import master
from engine.synth.mix import NoteCache, add_part
from engine.synth.reverb import add_reverb, impulse_response
from engine.synth.timbres import voice_for

__all__ = ["score_to_samples"]

REVERB_SEND = 0.35  #: wet level of the reverberated group (linear, IR energy-normalised)
DRY_FAMILIES = (4,)  #: GM families added after the reverb (bass stays dry and tight)


def score_to_samples(score: Score, *, sr: int = 44100,
                     progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Render `score` to float32 samples of shape (round(score.duration * sr), 2), C-contiguous.

    Channels are (left, right); values stay within [-1, 1] (true peak <= -1 dBTP).
    `progress`, if given, is called with the fraction done (0.0 .. 1.0).
    """
    frames = round(score.duration * sr)
    bus = np.zeros((frames, 2), np.float32)
    cache = NoteCache(sr)
    wet = [p for p in score.parts if not p.is_drum and voice_for(p.program) not in _dry_voices()]
    dry = [p for p in score.parts if not p.is_drum and p not in wet]
    drums = [p for p in score.parts if p.is_drum]
    steps = len(score.parts) + 2
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(min(1.0, done / steps))

    for part in wet:
        add_part(bus, part, cache)
        tick()
    if wet:
        add_reverb(bus, impulse_response(seed=score.seed, sr=sr), send=REVERB_SEND)
    tick()
    for part in dry:
        add_part(bus, part, cache)
        tick()
    for part in drums:
        add_drums(bus, part, seed=score.seed, sr=sr)
        tick()
    master(bus, sr=sr)
    tick()
    return bus


def _dry_voices() -> list:
    from engine.synth.timbres import FAMILIES, SPECIAL

    return [FAMILIES[f] for f in DRY_FAMILIES] + [SPECIAL[38], SPECIAL[39]]
