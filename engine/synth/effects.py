"""Bus effects a style asks for (`Score.effects`), applied window by window as the mix is made.

    reverb   scales every voice's reverb send (done in engine.synth.mix)
    drive    soft saturation of the bus: y = DRIVE_REF tanh(k x / DRIVE_REF) / k, k = 1 + 2 * drive
             (peaks are rounded off; the body of the mix passes nearly unchanged)
    tape     a low-pass on the bus, from 16 kHz (tape 0) down to 4.5 kHz (tape 1): worn cassette
    crackle  vinyl: band-passed hiss and sparse clicks, seeded from the score (same bytes each time);
             one revolution of the record (1.8 s at 33 1/3 rpm) is made once and comes round
             again, as a record's crackle does
Filters carry their state from window to window, so the result does not depend on the window
length. The pre-master bus runs at an RMS of about 0.2-0.8; the vinyl noise sits some 30 dB below.

Stems (`process_routed`) split the bus into several outputs whose sum is the bus: tape, being
linear, runs on each output with its own filter state; the drive, not linear, is computed from
the summed bus and applied to every output as the same per-sample gain tanh(k x) / (k x), so
the outputs still sum to the driven bus; the vinyl goes into an output of its own.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from engine.score import Effects

HISS_RMS = 0.012  #: hiss level at crackle = 1 (pre-master bus units)
CLICK_PEAK = 0.25  #: loudest click at crackle = 1
CLICKS_PER_SECOND = 9.0
REVOLUTION_S = 1.8
DRIVE_REF = 2.5  #: pre-master bus level at which the drive's saturation sets in  #: seconds per turn of a record at 33 1/3 rpm


class _Tape:
    """The tape low-pass with its filter state (one per output being filtered)."""

    def __init__(self, sos: np.ndarray):
        self.sos = sos
        self.zi = np.zeros((1, 2, 2), np.float32)

    def __call__(self, lr: np.ndarray) -> None:
        """Filter lr (float32 (2, n)) in place."""
        lr[:], self.zi = signal.sosfilt(self.sos, lr, axis=1, zi=self.zi)

    def prime(self, lr: np.ndarray) -> None:
        """Run over lr (float32 (2, n)) without changing it: the state that audio leaves."""
        _, self.zi = signal.sosfilt(self.sos, lr, axis=1, zi=self.zi)


class BusEffects:
    """The drive, tape and vinyl of one render (state carried across windows)."""

    def __init__(self, effects: Effects, *, seed: int, sr: int):
        self.fx, self.seed, self.sr = effects, seed, sr
        self.active = effects.drive > 0 or effects.tape > 0 or effects.crackle > 0
        self._sos = None
        if effects.tape > 0:
            cutoff = 16000.0 - 11500.0 * min(1.0, effects.tape)
            self._sos = signal.butter(2, cutoff, "low", fs=sr, output="sos").astype(np.float32)
        self._tape = self.new_tape()
        self._record = self._revolution() if effects.crackle > 0 else None

    @property
    def has_vinyl(self) -> bool:
        """True when the style adds vinyl crackle (an output of its own in `process_routed`)."""
        return self._record is not None

    def new_tape(self) -> _Tape | None:
        """A fresh tape filter (its own state), or None when the style has no tape."""
        return None if self._sos is None else _Tape(self._sos)

    def _drive_k(self) -> np.float32:
        return np.float32((1.0 + 2.0 * self.fx.drive) / DRIVE_REF)

    def prime(self, lr: np.ndarray) -> None:
        """Run the tape filter over lr (float32 (2, n)), the frames just before the first window,
        so it starts in the state a loop's end leaves it in (lr is not changed)."""
        if self._tape is not None:
            self._tape.prime(lr)

    def process_bus(self, bus: np.ndarray, *, window: int = 1 << 15) -> None:
        """Apply the effects in place to a whole bus (float32 (frames, 2)), window by window."""
        if not self.active:
            return
        for a in range(0, bus.shape[0], window):
            lr = np.ascontiguousarray(bus[a:a + window].T)
            self.process(lr, a)
            bus[a:a + window] = lr.T

    def process(self, lr: np.ndarray, a: int) -> None:
        """Apply the effects in place to the window lr (float32 (2, n)) starting at frame a."""
        if not self.active:
            return
        if self.fx.drive > 0:
            k = self._drive_k()
            np.tanh(lr * k, out=lr)
            lr /= k
        if self._tape is not None:
            self._tape(lr)
        if self._record is not None:
            self._add_vinyl(lr, a)

    def process_routed(self, outs: np.ndarray, a: int, tapes: list[_Tape | None]) -> None:
        """Apply the effects in place to outputs outs (float32 (m, 2, n)) of the window at frame a,
        so that outs.sum(0) is what `process` makes of the summed window.

        tapes: one filter state per output (from `new_tape`). With vinyl, the last output is
        the vinyl's (it must hold zeros on entry: the crackle is added into it).
        """
        if not self.active:
            return
        if self.fx.drive > 0:
            x = outs.sum(axis=0) * self._drive_k()
            ratio = np.tanh(x)
            np.divide(ratio, x, out=ratio, where=x != 0.0)
            ratio[x == 0.0] = 1.0
            outs *= ratio
        for lr, tape in zip(outs, tapes):
            if tape is not None:
                tape(lr)
        if self._record is not None:
            self._add_vinyl(outs[-1], a)

    def _add_vinyl(self, lr: np.ndarray, a: int) -> None:
        n, period, done = lr.shape[1], len(self._record), 0
        while done < n:  # the record comes round: add it in slices
            at = (a + done) % period
            take = min(n - done, period - at)
            lr[:, done:done + take] += self._record[at:at + take]
            done += take

    def _revolution(self) -> np.ndarray:
        """One turn of the record: band-passed hiss and clicks, float32, seamless when repeated
        (the filter runs over two turns and the second is kept)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed & (2**63 - 1), 0x7A11]))
        n = int(REVOLUTION_S * self.sr)
        level = self.fx.crackle
        x = rng.standard_normal(n) * (HISS_RMS * level * 3.0)
        clicks = rng.poisson(CLICKS_PER_SECOND * REVOLUTION_S)
        at = rng.integers(0, n, clicks)
        x[at] += rng.uniform(0.3, 1.0, clicks) * rng.choice([-1.0, 1.0], clicks) * (CLICK_PEAK * level * 4.0)
        band = signal.butter(2, [900.0, 7000.0], "bandpass", fs=self.sr, output="sos")
        return signal.sosfilt(band, np.tile(x, 2))[n:].astype(np.float32)
