"""Score -> one 16-bit stereo signal per voice (role), handed out window by window as rendered.

The parts of a Score are grouped by role (`Part.name`: drums, bass, harmony, melody, pad, ...),
one stem per role, in the order the roles first appear; a style with vinyl crackle gets a
`vinyl` stem as well. Two passes over the piece, window by window (`mix_routed`):

1. The stems are mixed and summed into the full bus, which is analysed (loudness, DC) and
   mastered exactly as `score_to_samples` masters it (`finish`), to learn the master gain and
   how hard the limiter worked. Each stem's own mean (its DC) is summed as it goes.
2. The stems are mixed again; each window of each stem gets its own DC removed, the master
   gain and the fades (`premaster`), is rounded to 16 bits and handed to `write` (engine.stems
   puts it straight into its WAV inside the ZIP).

A stem can peak above full scale, which 16 bits cannot hold (the mix is limited, its stems are
not: a house kick stem reaches +1.6 dBFS). Pass 1 also keeps each stem's largest and smallest
sample, so the peaks are known before anything is written; if any stem would pass
STEM_CEILING_DBFS, every stem is scaled by the same `headroom` gain (< 1) that brings the
loudest to it. The stems then sum to the bus times `headroom` (reported, so it can be undone);
otherwise `headroom` is exactly 1.

So the stems, summed sample by sample, are the full mix's bus before the limiter (as
`score_to_bus` gives it) to float rounding (and to 16-bit rounding once written). Memory: one
full-length float32 bus in pass 1 (the mastering needs it), then a window per stem.
`stem_names` tells the stems (and so their files) before anything is rendered.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.encode import to_int16
from engine.score import Score
from engine.synth.effects import BusEffects
from engine.synth.loop import LOOP_TAIL, PRIME_FRAMES
from engine.synth.master import Analysis, Mastered, finish, premaster
from engine.synth.mix import LoopFold, mix_routed, routed_windows
from engine.synth.tonecache import ToneCache

VINYL = "vinyl"  #: role of the vinyl-crackle stem (a bus effect, not a voice)
STEM_CEILING_DBFS = -0.1  #: no stem peaks above this (sample peak); see `headroom`


@dataclass(frozen=True)
class Stem:
    """One written stem.

    role: the voice's role (a Part.name, or VINYL). programs: GM programs of its parts (for
    drums: the kit), in score order, without repeats. is_drum: the percussion part.
    dc: the mean removed from it, (left, right), in bus
    units before the master gain. peak: its largest absolute sample after mastering and
    headroom (float, before 16-bit rounding; at most STEM_CEILING_DBFS).
    """

    role: str
    programs: tuple[int, ...]
    is_drum: bool
    dc: tuple[float, float]
    peak: float


@dataclass(frozen=True)
class StemSet:
    """The stems of one piece: frames (per stem), sr (Hz), mastering, the summed stems' sample
    peak (the un-limited mix: it may exceed the limited mix's -1 dBTP ceiling), and headroom:
    the linear gain (<= 1) every stem got on top of the master gain so that none passes
    STEM_CEILING_DBFS (1.0 for most pieces: then the stems sum to the bus itself)."""

    stems: tuple[Stem, ...]
    frames: int
    sr: int
    mastered: Mastered
    sum_peak: float
    headroom: float = 1.0

    @property
    def headroom_db(self) -> float:
        """`headroom` in dB (<= 0)."""
        return float(20.0 * np.log10(self.headroom)) + 0.0


def stem_roles(score: Score) -> list[str]:
    """The roles of the score's parts that have notes, in order of first appearance."""
    roles: list[str] = []
    for part in score.parts:
        if part.notes and part.name not in roles:
            roles.append(part.name)
    return roles


def stem_names(score: Score) -> list[str]:
    """The stems `score_to_stems` makes, in order: the roles (one silent "silence" stem for a
    score without notes), then VINYL when the style has crackle."""
    return (stem_roles(score) or ["silence"]) + [VINYL] * (score.effects.crackle > 0)


def score_to_stems(score: Score, write: Callable[[int, np.ndarray], None], *, sr: int = 44100,
                   progress: Callable[[float], None] | None = None, tones: ToneCache | None = None,
                   on_window: Callable[[np.ndarray, int], None] | None = None) -> StemSet:
    """Render the stems of `score` (see the module doc): `write(g, y)` is called for every window
    of every stem g (index into `stem_names(score)`), in order, with y int16 (n, 2) C-contiguous;
    each stem gets exactly round(score.duration * sr) frames in all.

    `progress` is called with the fraction done (0.0 .. 1.0). `on_window(outs, a)`, if given,
    sees each window of the stems as float32 (stems, 2, n) after mastering and headroom, before
    16-bit rounding (tests compare their sum with `score_to_bus` times the headroom).
    """
    frames = round(score.duration * sr)
    names = stem_names(score)
    groups = len(names) - (score.effects.crackle > 0)  # mix_routed adds the vinyl output
    route = [names.index(p.name) if p.name in names[:groups] else 0 for p in score.parts]

    def stage(offset: float) -> Callable[[float], None] | None:
        return None if progress is None else (lambda f: progress(offset + 0.5 * f))

    # pass 1: the summed bus, for the loudness, the DC and the master gain
    loop: LoopFold | None = None
    if score.loop:
        loop, mastered, dcs, highs, lows = _loop_pass1(score, frames, sr=sr, route=route, groups=groups,
                                                      outputs=len(names), progress=stage(0.0), tones=tones)
    else:
        bus = np.zeros((frames, 2), np.float32)
        analysis = Analysis(frames, sr=sr)
        sums = np.zeros((len(names), 2), np.float64)
        highs = np.zeros((len(names), 2), np.float64)
        lows = np.zeros((len(names), 2), np.float64)
        for a, outs in mix_routed(score, frames, sr=sr, route=route, groups=groups, progress=stage(0.0), tones=tones):
            lr = outs.sum(axis=0)
            analysis.feed(lr, a)
            sums += outs.sum(axis=2, dtype=np.float64)
            np.maximum(highs, outs.max(axis=2), out=highs)
            np.minimum(lows, outs.min(axis=2), out=lows)
            bus[a:a + lr.shape[1]] = lr.T
        mastered = finish(bus, analysis, sr=sr)
        del bus
        dcs = (sums / max(frames, 1) * (mastered.passes > 0)).astype(np.float32)
    # each stem's peak once mastered (the fades only lower it): none may pass the ceiling
    peak = float(np.maximum(highs - dcs, dcs - lows).max(initial=0.0)) * mastered.gain
    ceiling = 10.0 ** (STEM_CEILING_DBFS / 20.0)
    headroom = 1.0 if peak <= ceiling else ceiling / peak

    # pass 2: each stem with its own DC, the master gain and fades, to 16 bits
    peaks = np.zeros(len(names))
    sum_peak = 0.0
    for a, outs in mix_routed(score, frames, sr=sr, route=route, groups=groups, progress=stage(0.5), tones=tones,
                              loop=loop):
        for g in range(len(names)):
            y = np.ascontiguousarray(outs[g].T)
            premaster(y, a, frames=frames, dc=dcs[g], mastered=mastered, sr=sr, circular=score.loop)
            if headroom != 1.0:
                y *= np.float32(headroom)
            peaks[g] = max(peaks[g], float(np.abs(y).max(initial=0.0)))
            write(g, to_int16(y))
            outs[g] = y.T
        sum_peak = max(sum_peak, float(np.abs(outs.sum(axis=0)).max(initial=0.0)))
        if on_window:
            on_window(outs, a)
    stems = []
    for g, role in enumerate(names):
        parts = [p for p in score.parts if p.name == role and p.notes]
        programs = tuple(dict.fromkeys(int(p.program) for p in parts))
        stems.append(Stem(role, programs, any(p.is_drum for p in parts),
                          (float(dcs[g, 0]), float(dcs[g, 1])), float(peaks[g])))
    return StemSet(tuple(stems), frames, sr, mastered, sum_peak, headroom)


def _loop_pass1(score: Score, frames: int, *, sr: int, route: list[int], groups: int, outputs: int,
                progress: Callable[[float], None] | None,
                tones: ToneCache | None) -> tuple[LoopFold, Mastered, np.ndarray, np.ndarray, np.ndarray]:
    """Pass 1 of a loop: the groups mixed LOOP_TAIL past the end, each one's overhang folded
    onto its start (kept for pass 2), the folded sum through the bus effects and mastered as
    `score_to_samples` masters a loop. Returns (the fold, the mastering, each stem's DC, and
    bounds of each stem's largest and smallest sample before mastering)."""
    tail = round(LOOP_TAIL * sr)
    head = min(tail, frames)
    fold = np.zeros((outputs, 2, head), np.float32)
    bus = np.zeros((frames, 2), np.float32)
    sums = np.zeros((outputs, 2), np.float64)
    highs = np.zeros((outputs, 2), np.float64)
    lows = np.zeros((outputs, 2), np.float64)
    m = min(frames, PRIME_FRAMES)
    ends = np.zeros((outputs, 2, m), np.float32)
    for a, outs in routed_windows(score, frames + tail, sr=sr, route=route, groups=groups,
                                  reverb_frames=frames + tail, progress=progress, tones=tones):
        n = outs.shape[2]
        inside = max(0, min(n, frames - a))
        if inside:
            bus[a:a + inside] = outs[:, :, :inside].sum(axis=0).T
            np.maximum(highs[:groups], outs[:, :, :inside].max(axis=2), out=highs[:groups])
            np.minimum(lows[:groups], outs[:, :, :inside].min(axis=2), out=lows[:groups])
            lo = max(a, frames - m)
            if lo < a + inside:
                ends[:groups, :, lo - (frames - m):a + inside - (frames - m)] = outs[:, :, lo - a:inside]
        sums[:groups] += outs.sum(axis=2, dtype=np.float64)  # folding moves samples, keeps the sum
        done = inside
        while done < n:  # the overhang, round the loop as often as it lasts
            at = (a + done - frames) % frames
            take = min(n - done, (head - at) if at < head else (frames - at))
            if at < head:
                fold[:groups, :, at:at + take] += outs[:, :, done:done + take]
            done += take
    bus[:head] += fold.sum(axis=0).T
    overlap = range(max(frames - m, 0), min(head, frames))  # a short loop's end is folded onto too
    if len(overlap):
        ends[:, :, overlap.start - (frames - m):overlap.stop - (frames - m)] += fold[:, :, overlap.start:overlap.stop]
    # each stem's largest and smallest sample, bounded: the fold adds at most its own extremes
    highs += np.maximum(fold.max(axis=2, initial=0.0), 0.0)
    lows += np.minimum(fold.min(axis=2, initial=0.0), 0.0)
    ends_bus = np.ascontiguousarray(bus[frames - m:].T)
    effects = BusEffects(score.effects, seed=score.seed, sr=sr)
    effects.prime(ends_bus)
    effects.process_bus(bus)
    analysis = Analysis.of(bus, sr=sr)
    mastered = finish(bus, analysis, sr=sr, circular=True)
    del bus
    dcs = (sums / max(frames, 1)).astype(np.float32)
    dcs[-1] += analysis.dc - dcs.sum(axis=0)  # the effects' share of the mean (drive, vinyl)
    dcs *= mastered.passes > 0
    return LoopFold(tail, fold, ends), mastered, dcs, highs, lows
