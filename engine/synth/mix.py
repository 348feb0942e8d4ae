"""Mix a Score into a stereo bus, window by window: notes, panning, reverb send, reverb.

Pitched notes come from a `NoteBank` (each key's tone and envelope built once, notes sliced
from it) and drum hits from a `DrumKit` (scaled by velocity here), fetched only while they
sound. The piece is processed in windows of the reverb's block length: per window, each pitched part is summed in a mono scratch buffer, then
panned (equal power) into the bus and added to the reverb send with the voice's send level;
drum hits are added in stereo directly. The reverb's wet output for the window (plus the tail
carried from earlier windows) goes into the bus, and `on_window` sees the finished frames
(used for the loudness analysis), so the whole mix is one pass over the bus.

`mix_routed` is the same mix with each part routed to one of several outputs (the stems): each
output has its own reverb send and reverb instance (the reverb is linear, so the outputs' wet
signals sum to the full mix's), and the bus effects are split as `BusEffects.process_routed`
describes, so the outputs sum to the full mix's bus window by window (to float rounding).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from engine.score import Score
from engine.synth.drums import DrumKit
from engine.synth.effects import BusEffects
from engine.synth.notes import NoteBank
from engine.synth.reverb import Reverb
from engine.synth.timbres import velocity_gain, voice_for
from engine.synth.tonecache import ToneCache


def pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power (left, right) gains for pan -1 (left) .. +1 (right); centre = 0.707 each."""
    theta = (min(max(pan, -1.0), 1.0) + 1.0) * np.pi / 4.0
    return float(np.cos(theta)), float(np.sin(theta))


class _Track:
    """One mono group of notes (a pitched part) or a stereo list of hits (drums).

    Waveforms are fetched only while an event sounds (`wave(i)`), so memory holds the notes of
    the current window, not the whole piece.
    """

    def __init__(self, starts: list[int], lengths: list[int], fetch: Callable[[int], np.ndarray],
                 gains: list[np.ndarray] | None, pan: tuple[float, float], send: float, part: int):
        self.part = part  #: index of its Part in Score.parts
        order = np.argsort(np.asarray(starts, np.int64), kind="stable").tolist()
        self.starts = [starts[i] for i in order]
        self.ends = [starts[i] + lengths[i] for i in order]
        self._fetch, self._order = fetch, order
        self.gains = None if gains is None else [gains[i] for i in order]
        self.pan = np.asarray(pan, np.float32)
        self.send = np.float32(send)
        self.next = 0  # first event not yet started
        self.active: dict[int, np.ndarray | None] = {}  # sounding events -> waveform

    def wave(self, i: int) -> np.ndarray:
        """Waveform of event i (which must be live)."""
        w = self.active.get(i)
        if w is None:
            w = self.active[i] = self._fetch(self._order[i])
        return w

    def events_in(self, a: int, b: int) -> list[int]:
        """Indices of events overlapping frames [a, b) (call `retire(b)` after the window)."""
        while self.next < len(self.starts) and self.starts[self.next] < b:
            self.active[self.next] = None
            self.next += 1
        return [i for i in self.active if self.ends[i] > a]

    def retire(self, b: int) -> None:
        """Drop events that end by frame b."""
        self.active = {i: w for i, w in self.active.items() if self.ends[i] > b}


def _tracks(score: Score, frames: int, sr: int, tones: ToneCache | None) -> list[_Track]:
    bank = NoteBank(sr=sr, tones=tones)
    tracks = []
    for index, part in enumerate(score.parts):
        kit = DrumKit(sr=sr, kit=part.program) if part.is_drum else None
        starts, lengths, gains, hits, notes = [], [], [], [], []
        for note in part.notes:
            start = round(note.start * sr)
            if start >= frames or start < 0:
                continue
            starts.append(start)
            if part.is_drum:
                hit, offset = kit.hit(note.pitch, note.velocity)
                hits.append(hit)
                lengths.append(len(hit))
                gain = velocity_gain(note.velocity)
                gains.append(np.asarray(pan_gains(part.pan + offset), np.float32) * np.float32(gain))
            else:
                n_on = max(1, round((note.end - note.start) * sr))
                notes.append((part.program, note.pitch, note.velocity, n_on, note.glide))
                lengths.append(bank.plan(*notes[-1]))
        if not starts:
            continue
        if part.is_drum:
            tracks.append(_Track(starts, lengths, hits.__getitem__, gains, pan_gains(part.pan), kit.send, index))
        else:
            def fetch(i: int, notes: list = notes) -> np.ndarray:
                return bank.note(*notes[i])
            tracks.append(_Track(starts, lengths, fetch, None, pan_gains(part.pan), voice_for(part.program).send,
                                 index))
    return tracks


def _windows(score: Score, frames: int, *, sr: int, reverbs: Sequence[Reverb], outputs: int,
             route: Sequence[int] | None, progress: Callable[[float], None] | None,
             tones: ToneCache | None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (a, outs) for each window [a, a + n) of the piece: outs is float32 (outputs, 2, n),
    left/right rows, each output the dry voices routed to it plus the wet of its reverb (reverbs[g]
    for output g < len(reverbs)); bus effects are not applied. route[i]: output of score.parts[i]
    (None: all to output 0). The buffer is reused: use it before asking for the next window.
    """
    tracks = _tracks(score, frames, sr, tones)
    to = [0 if route is None else route[track.part] for track in tracks]
    reverb_scale = np.float32(score.effects.reverb)
    block = reverbs[0].block
    mono = np.empty(block, np.float32)
    sends = np.empty((outputs, block), np.float32)
    lr_buf = np.empty((outputs, 2, block), np.float32)
    for a in range(0, frames, block):
        b = min(frames, a + block)
        n = b - a
        outs = lr_buf[:, :, :n]
        outs[:] = 0.0
        sends[:, :n] = 0.0
        for track, g in zip(tracks, to):
            live = track.events_in(a, b)
            if not live:
                continue
            lr, send = outs[g], sends[g]
            if track.gains is None:
                mono[:n] = 0.0
            for i in live:
                s = track.starts[i]
                w = track.wave(i)
                lo, hi = max(a, s), min(b, s + len(w))
                seg = w[lo - s: hi - s]
                if track.gains is None:
                    mono[lo - a: hi - a] += seg
                else:
                    gl, gr = track.gains[i]
                    lr[0, lo - a: hi - a] += seg * gl
                    lr[1, lo - a: hi - a] += seg * gr
                    send[lo - a: hi - a] += seg * track.send
            if track.gains is None:
                m = mono[:n]
                lr[0] += m * track.pan[0]
                lr[1] += m * track.pan[1]
                send[:n] += m * track.send
            track.retire(b)
        for g, reverb in enumerate(reverbs):
            if reverb_scale != 1.0:
                sends[g, :n] *= reverb_scale
            reverb.process(sends[g, :n], outs[g])
        yield a, outs
        if progress:
            progress(b / frames)


def mix(score: Score, bus: np.ndarray, *, sr: int, reverb: Reverb,
        on_window: Callable[[np.ndarray, int], None] | None = None,
        progress: Callable[[float], None] | None = None, tones: ToneCache | None = None,
        effects: BusEffects | None = None) -> None:
    """Mix every part of `score` into `bus` (float32 (frames, 2)), overwriting it.

    Windows are mixed in a (2, n) left/right scratch (contiguous rows are much faster than
    the interleaved bus); `effects` (the bus effects; None: none, as for a loop, which applies
    them after folding) process each window, and `on_window(lr, a)` sees each finished window
    before it is copied into bus[a:a + n].
    """
    frames = bus.shape[0]
    for a, outs in _windows(score, frames, sr=sr, reverbs=[reverb], outputs=1, route=None,
                            progress=progress, tones=tones):
        lr = outs[0]
        if effects is not None:
            effects.process(lr, a)
        if on_window:
            on_window(lr, a)
        b = a + lr.shape[1]
        bus[a:b, 0] = lr[0]
        bus[a:b, 1] = lr[1]


@dataclass(frozen=True)
class LoopFold:
    """What a loop's outputs ring past its end, to be added onto its start (engine.synth.stems).

    tail: frames mixed past the end (the reverbs are sized for frames + tail). fold: float32
    (outputs, 2, head), the overhang of each output folded onto frames [0, head), before bus
    effects. ends: float32 (outputs, 2, m), each output's last m frames (folded), which the
    tape filters run over before the start, as they do for the full mix.
    """

    tail: int
    fold: np.ndarray
    ends: np.ndarray


def mix_routed(score: Score, frames: int, *, sr: int, route: Sequence[int], groups: int,
               progress: Callable[[float], None] | None = None,
               tones: ToneCache | None = None, loop: LoopFold | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Mix `score` window by window into `groups` outputs (plus one for the vinyl crackle, last,
    when the style has it), with every bus effect applied: outs.sum(0) is the window of the bus
    `mix` makes (to float rounding), before mastering; with `loop`, of the looped bus (its
    overhang added onto the start before the effects, the filters started from its end).

    route[i]: output 0..groups-1 of score.parts[i]. Yields (a, outs), outs float32
    (outputs, 2, n) for frames [a, a + n); the buffer is reused for the next window.
    """
    effects = BusEffects(score.effects, seed=score.seed, sr=sr)
    reverbs = [Reverb(sr=sr, frames=frames + (loop.tail if loop else 0)) for _ in range(groups)]
    tapes = [effects.new_tape() for _ in range(groups)] + [None] * effects.has_vinyl
    if loop is not None:
        for tape, end in zip(tapes, loop.ends):
            if tape is not None:
                tape.prime(end)
    outputs = groups + effects.has_vinyl
    for a, outs in _windows(score, frames, sr=sr, reverbs=reverbs, outputs=outputs, route=route,
                            progress=progress, tones=tones):
        if loop is not None and a < loop.fold.shape[2]:
            n = min(outs.shape[2], loop.fold.shape[2] - a)
            outs[:, :, :n] += loop.fold[:, :, a:a + n]
        effects.process_routed(outs, a, tapes)
        yield a, outs


def routed_windows(score: Score, frames: int, *, sr: int, route: Sequence[int], groups: int,
                   reverb_frames: int, progress: Callable[[float], None] | None = None,
                   tones: ToneCache | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """`mix_routed`'s windows before any bus effect (and no vinyl output): (a, outs), outs
    float32 (groups, 2, n), each group's voices and the wet of its own reverb, sized for
    `reverb_frames` frames (so a later `mix_routed` of a loop mixes the same windows)."""
    reverbs = [Reverb(sr=sr, frames=reverb_frames) for _ in range(groups)]
    yield from _windows(score, frames, sr=sr, reverbs=reverbs, outputs=groups, route=route,
                        progress=progress, tones=tones)
