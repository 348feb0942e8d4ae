"""Score -> stereo samples: Resonant's synthesiser.

`score_to_samples(score, sr=44100)` mixes every part (pitched voices from `timbres`, GM
percussion from `drums`) with a convolution reverb (`mix`, `reverb`), measuring loudness as it
goes, then masters the bus to -14 LUFS with true peak <= -1 dBTP (`master`). A loop
(`Score.loop`) is mixed past its end and the overhang folded onto its start, and is mastered
without fades, its limiter looking round the end to the start, so the file repeats seamlessly.
Pure and deterministic: the same Score gives the same samples, bit for bit.

`score_to_bus` gives the same mix at the master gain but before the limiter: the bus a set of
stems (`engine.synth.stems`) sums to.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.score import Score
from engine.synth.effects import BusEffects
from engine.synth.loop import looped_mix
from engine.synth.master import Analysis, Mastered, finish, premaster
from engine.synth.mix import mix
from engine.synth.reverb import Reverb
from engine.synth.tonecache import ToneCache

__all__ = ["Mastered", "ToneCache", "score_to_bus", "score_to_samples"]



def score_to_samples(score: Score, *, sr: int = 44100,
                     progress: Callable[[float], None] | None = None,
                     tones: ToneCache | None = None) -> np.ndarray:
    """Render `score` to float32 samples of shape (round(score.duration * sr), 2), C-contiguous.

    Channels are (left, right); values stay within [-1, 1] (true peak <= -1 dBTP).
    `progress`, if given, is called with the fraction done (0.0 .. 1.0), non-decreasing.
    `tones`, if given, supplies tones kept from earlier renders (the samples are the same).
    """
    frames = round(score.duration * sr)

    def mixed(fraction: float) -> None:
        if progress:
            progress(0.9 * fraction)

    effects = BusEffects(score.effects, seed=score.seed, sr=sr)
    if score.loop:
        bus = looped_mix(score, frames, sr=sr, effects=effects, progress=mixed, tones=tones)
        analysis = Analysis.of(bus, sr=sr)
    else:
        bus = np.zeros((frames, 2), np.float32)
        analysis = Analysis(frames, sr=sr)
        mix(score, bus, sr=sr, reverb=Reverb(sr=sr, frames=frames), on_window=analysis.feed,
            progress=mixed, tones=tones, effects=effects)
    finish(bus, analysis, sr=sr, circular=score.loop)
    if progress:
        progress(1.0)
    return bus


def score_to_bus(score: Score, *, sr: int = 44100, tones: ToneCache | None = None) -> tuple[np.ndarray, Mastered]:
    """The full mix of `score` as the limiter sees it: float32 (frames, 2), DC removed, at the
    master gain, with the edge fades; and what mastering did (`Mastered`: gain, limiter).

    `score_to_samples` is this bus through the look-ahead limiter (peaks above -1.5 dBTP ducked),
    so the two differ only where the limiter acted, by at most `Mastered.limiter_db`. Holds
    two full-length buses: for tests and analysis, not for serving.
    """
    frames = round(score.duration * sr)
    effects = BusEffects(score.effects, seed=score.seed, sr=sr)
    if score.loop:
        bus = looped_mix(score, frames, sr=sr, effects=effects, progress=lambda _f: None, tones=tones)
        analysis = Analysis.of(bus, sr=sr)
    else:
        bus = np.zeros((frames, 2), np.float32)
        analysis = Analysis(frames, sr=sr)
        mix(score, bus, sr=sr, reverb=Reverb(sr=sr, frames=frames), on_window=analysis.feed, tones=tones,
            effects=effects)
    mastered = finish(bus.copy(), analysis, sr=sr, circular=score.loop)
    premaster(bus, 0, frames=frames, dc=analysis.dc, mastered=mastered, sr=sr, circular=score.loop)
    return bus, mastered
