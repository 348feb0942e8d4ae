"""Per-family instrument voices: General MIDI program -> a tone generator and an envelope shape.

A *tone* is the un-enveloped waveform of one pitch at one brightness: float32, shape (L,),
peak about 1, sample rate `sr` Hz. Tones are built from band-limited wavetables (additive
partials up to Nyquist), two-operator FM, or detuned saws through a low-pass filter.
Everything here is a pure function of its arguments (no randomness, no state); `Ramps` only
saves re-allocating index ramps within one render.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

TABLE = 8192  #: wavetable length in samples (power of two, read with nearest-index lookup)
SHIFT = 32 - 13  #: 32-bit phase -> table index (TABLE == 2 ** 13)
VIBRATO_FADE = 0.6  #: seconds for vibrato to fade in
FILTER_SETTLE = 4096  #: samples for the saws' low-pass filter to reach its periodic steady state


@dataclass(frozen=True)
class Voice:
    """How one GM family sounds.

    kind: "additive" (two spectra cross-faded by a brightness envelope), "fm" or "saws".
    slope_bright / slope_dull: partial amplitude ~ h ** -slope for the bright / dull spectrum.
    odd: odd partials only (hollow reed / square-ish tones).
    bright_tau: seconds for brightness to fall from the attack spectrum to the dull one
        (None: constant brightness set by velocity).
    attack, decay, release: seconds; sustain: level 0..1 after the decay.
    ring: seconds of exponential decay for percussive voices at middle C (None: sustained);
        shorter for higher pitches.
    fm_ratio, fm_index: modulator/carrier frequency ratio and peak modulation index ("fm").
    detune: cents between the outer saws ("saws"); cutoff: low-pass cutoff as a multiple of f0.
    vibrato: depth in cents (5.5 Hz rate, fading in after 0.3 s).
    gain: level trim so families balance in the mix (linear).
    send: reverb send level (linear).
    partials: explicit amplitudes of harmonics 1..len (drawbar organ); overrides the slopes.
    pluck: plucking point (fraction of the string, 0 = not plucked): a plucked string's comb
        spectrum for guitars, harp, banjo and upright bass.
    voices: detuned saws ("saws"; 7 for a supersaw). resonance: Q of the saws' low-pass
        (0.707 flat; 3-5 the squelch of an acid bass). drive: tanh waveshaping after the
        low-pass (0 none; 3-6 an overdriven or distorted guitar). cabinet: Hz of a second
        low-pass after the drive (a guitar cabinet), or None.
    """

    kind: str
    slope_bright: float = 1.0
    slope_dull: float = 2.0
    odd: bool = False
    bright_tau: float | None = None
    attack: float = 0.005
    decay: float = 0.2
    sustain: float = 0.7
    release: float = 0.12
    ring: float | None = None
    fm_ratio: float = 1.0
    fm_index: float = 1.0
    detune: float = 12.0
    cutoff: float = 6.0
    vibrato: float = 0.0
    gain: float = 1.0
    send: float = 0.3
    partials: tuple[float, ...] | None = None
    pluck: float = 0.0
    voices: int = 3
    resonance: float = 0.707
    drive: float = 0.0
    cabinet: float | None = None


#: One voice per GM family (program // 8).
FAMILIES: tuple[Voice, ...] = (
    Voice("additive", 0.8, 1.7, bright_tau=0.5, attack=0.003, release=0.18, ring=1.6, gain=0.9),  # piano
    Voice("fm", fm_ratio=3.5, fm_index=2.2, attack=0.002, release=0.25, ring=1.2, gain=0.8),  # chrom perc
    Voice("additive", attack=0.012, decay=0.05, sustain=0.95, release=0.06, gain=0.55,
          partials=(1.0, 0.8, 0.55, 0.5, 0.0, 0.35, 0.0, 0.3, 0.0, 0.0, 0.0, 0.15)),  # organ
    Voice("additive", 0.9, 2.8, bright_tau=0.12, attack=0.002, release=0.10, ring=1.1, gain=0.85,
          pluck=0.17),  # guitar: plucked near the bridge
    Voice("additive", 1.2, 3.2, bright_tau=0.10, attack=0.004, release=0.08, ring=1.4, gain=1.25, send=0.06),  # bass
    Voice("saws", detune=9.0, cutoff=6.0, attack=0.12, decay=0.3, sustain=0.85, release=0.35,
          vibrato=9.0, gain=0.6, send=0.45),  # strings
    Voice("saws", detune=14.0, cutoff=5.5, attack=0.18, decay=0.4, sustain=0.8, release=0.45,
          vibrato=5.0, gain=0.6, send=0.45),  # ensemble
    Voice("additive", 0.8, 2.4, bright_tau=0.25, attack=0.03, decay=0.2, sustain=0.75, release=0.1,
          vibrato=4.0, gain=0.55),  # brass
    Voice("additive", 1.0, 1.6, odd=True, attack=0.025, decay=0.1, sustain=0.85, release=0.08,
          vibrato=6.0, gain=0.6),  # reed
    Voice("additive", 3.0, 4.0, attack=0.04, decay=0.1, sustain=0.85, release=0.12, vibrato=8.0,
          gain=0.9),  # pipe
    Voice("additive", 0.55, 0.9, attack=0.008, decay=0.15, sustain=0.75, release=0.1, vibrato=6.0,
          gain=0.4),  # synth lead
    Voice("saws", detune=18.0, cutoff=1.6, attack=0.35, decay=0.5, sustain=0.8, release=0.6,
          gain=0.6, send=0.5),  # synth pad
    Voice("saws", detune=25.0, cutoff=2.5, attack=0.25, decay=0.5, sustain=0.7, release=0.6,
          gain=0.6, send=0.5),  # synth fx
    Voice("additive", 0.9, 2.5, bright_tau=0.15, attack=0.002, release=0.12, ring=1.3, gain=0.85),  # ethnic
    Voice("fm", fm_ratio=1.4, fm_index=3.0, attack=0.001, release=0.1, ring=0.4, gain=0.8),  # percussive
    Voice("saws", detune=30.0, cutoff=2.0, attack=0.2, decay=0.3, sustain=0.6, release=0.4, gain=0.5),  # sfx
)

#: Programs that differ from their family: electric pianos (FM), synth basses (filtered saws).
SPECIAL: dict[int, Voice] = {
    4: Voice("fm", fm_ratio=1.0, fm_index=1.6, attack=0.002, release=0.2, ring=1.8, gain=0.85),
    5: Voice("fm", fm_ratio=14.0, fm_index=0.9, attack=0.002, release=0.2, ring=1.6, gain=0.8),
    # overdriven / distortion guitar: detuned saws, tanh waveshaping, a cabinet low-pass
    29: Voice("saws", detune=7.0, cutoff=10.0, drive=3.0, cabinet=4200.0, attack=0.004, decay=0.5,
              sustain=0.65, release=0.08, gain=0.38, send=0.15),
    30: Voice("saws", detune=10.0, cutoff=10.0, drive=7.0, cabinet=3600.0, attack=0.003, decay=0.6,
              sustain=0.75, release=0.07, gain=0.34, send=0.12),
    32: Voice("additive", 1.3, 3.6, bright_tau=0.05, attack=0.004, release=0.07, ring=0.9, gain=1.35,
              send=0.05, pluck=0.27),  # upright bass: a woody pluck
    46: Voice("additive", 1.0, 2.6, bright_tau=0.15, attack=0.002, release=0.2, ring=1.8, gain=0.8,
              pluck=0.3),  # harp
    105: Voice("additive", 0.8, 2.2, bright_tau=0.06, attack=0.001, release=0.08, ring=0.6, gain=0.8,
               pluck=0.08),  # banjo: bright and short
    38: Voice("saws", voices=1, detune=0.0, cutoff=3.0, resonance=4.5, drive=1.5, attack=0.003, decay=0.18,
              sustain=0.45, release=0.05, gain=1.0, send=0.06),  # acid: resonant low-pass
    39: Voice("additive", partials=(1.0, 0.12, 0.04), attack=0.003, release=0.09, ring=1.6, gain=1.6,
              send=0.03),  # 808 sub: a sine that booms and decays
    80: Voice("additive", 1.0, 1.5, odd=True, attack=0.004, decay=0.1, sustain=0.8, release=0.06,
              gain=0.4),  # square lead (chiptune pulse)
    81: Voice("saws", voices=7, detune=32.0, cutoff=9.0, attack=0.01, decay=0.3, sustain=0.85,
              release=0.2, vibrato=4.0, gain=0.45, send=0.35),  # supersaw
}


def voice_for(program: int) -> Voice:
    """The Voice for a General MIDI program 0..127."""
    return SPECIAL.get(program, FAMILIES[(program % 128) // 8])


def midi_to_hz(pitch: float) -> float:
    """Equal-tempered frequency in Hz of a MIDI pitch (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


class Ramps:
    """The index ramps 0, 1, 2, ... of one render as uint32 and float32 (exact below 2**24),
    grown on demand and handed out as read-only slices, so tones and envelopes need no
    `np.arange` of their own. Local to one render (no shared state)."""

    def __init__(self):
        self._u = np.zeros(0, np.uint32)
        self._f = np.zeros(0, np.float32)

    def _grow(self, n: int) -> None:
        size = 1 << max(16, (2 * n - 1).bit_length() - 1)  # next power of two >= n
        self._u = np.arange(size, dtype=np.uint32)
        self._f = self._u.astype(np.float32)
        self._u.flags.writeable = self._f.flags.writeable = False

    def u32(self, n: int) -> np.ndarray:
        if n > len(self._u):
            self._grow(n)
        return self._u[:n]

    def f32(self, n: int) -> np.ndarray:
        if n > len(self._f):
            self._grow(n)
        return self._f[:n]


@lru_cache(maxsize=128)
def wavetable(f0: float, slope: float, *, sr: int, odd: bool = False, saw: bool = False,
              partials: tuple[float, ...] | None = None, pluck: float = 0.0) -> np.ndarray:
    """One cycle (TABLE + 1 samples, float32, read-only) of partials h = 1.. up to 0.45*sr,
    amplitude h**-slope. saw=True gives the sawtooth series (1/h); `partials` gives explicit
    amplitudes for h = 1..len(partials); `pluck` (0..0.5, the plucking point as a fraction of
    the string) shapes them with a plucked string's comb, |sin(pi h pluck)|, so the harmonics
    with a node at the plucking point are missing. Peak normalised to 1. (A pure memo: <= 4 MB.)
    """
    n_h = max(1, min(int(0.45 * sr / f0), 160, len(partials) if partials else 160))
    h = np.arange(1, n_h + 1, dtype=np.float64)
    amp = (1.0 / h) if saw else h ** -slope
    if partials:
        amp = np.asarray(partials[:n_h], np.float64)
    if odd:
        amp = np.where(h % 2 == 1, amp, 0.0)
    if pluck > 0.0:
        amp = amp * (0.15 + 0.85 * np.abs(np.sin(np.pi * h * pluck)))
    amp = amp * top_octave_rolloff(h * f0)
    spec = np.zeros(TABLE // 2 + 1, np.complex128)
    spec[1:len(h) + 1] = amp * (TABLE / 2) * -1j
    cyc = np.fft.irfft(spec, TABLE)
    cyc /= max(np.max(np.abs(cyc)), 1e-9)
    out = np.append(cyc, cyc[0]).astype(np.float32)
    out.flags.writeable = False
    return out


ROLLOFF_HZ = (6000.0, 16000.0)  #: partials fade from the first frequency to nothing at the second


def top_octave_rolloff(freqs: np.ndarray) -> np.ndarray:
    """Gain 1 below 6 kHz falling as a raised cosine to 0 at 16 kHz: real instruments' spectra
    roll off in the top octave instead of running flat to Nyquist (no buzzy, sharp-edged tones)."""
    lo, hi = ROLLOFF_HZ
    u = np.clip((np.asarray(freqs, np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * u)


def vibrato_shape(n: int, rate: float, *, sr: int, ramps: Ramps) -> np.ndarray:
    """fade(t) * (1 - cos(2 pi rate t)), float32 (n,): the phase wobble of a vibrato, fading in
    over VIBRATO_FADE s; `phase_index` scales it by the depth."""
    t = ramps.f32(n)
    fade = np.minimum(t * np.float32(1.0 / (VIBRATO_FADE * sr)), np.float32(1.0))
    wobble = np.cos(t * np.float32(2 * np.pi * rate / sr))
    np.subtract(np.float32(1.0), wobble, out=wobble)
    wobble *= fade
    return wobble


def phase_index(f: float, n: int, *, sr: int, ramps: Ramps, vibrato: float = 0.0,
                shape: np.ndarray | None = None, rate: float = 5.5) -> np.ndarray:
    """Wavetable indices (uint32 in [0, TABLE), shape (n,)) for a tone at f Hz with optional
    vibrato (cents deep, `rate` Hz; `shape` = vibrato_shape(n, rate) if already computed).

    The phase is a 32-bit fixed-point accumulator (n * increment, exact integer arithmetic
    modulo 2**32), so long notes keep their pitch and phase with no floating-point drift.
    """
    acc = ramps.u32(n) * np.uint32(round(f / sr * 2.0 ** 32) & 0xFFFFFFFF)
    if vibrato > 0.0 and n > 0:
        if shape is None:
            shape = vibrato_shape(n, rate, sr=sr, ramps=ramps)
        depth = (2.0 ** (vibrato / 1200.0) - 1.0) * f  # Hz
        wobble = shape * np.float32(depth / (2 * np.pi * rate) * 2.0 ** 32)
        acc += wobble.astype(np.int64).astype(np.uint32)  # modulo 2**32, like the accumulator
    acc += np.uint32(1 << (SHIFT - 1))  # round to the nearest table entry
    acc >>= SHIFT
    return acc


def settling(tau: float, n: int, settle: int, *, sr: int, ramps: Ramps) -> np.ndarray:
    """exp(-t/tau) bent to reach exactly 0 at sample `settle` and stay there: float32 (n,)."""
    floor = np.float32(np.exp(-settle / (tau * sr)))
    out = np.exp(ramps.f32(n) * np.float32(-1.0 / (tau * sr)))
    out -= floor
    out *= np.float32(1.0) / (np.float32(1.0) - floor)
    np.maximum(out, np.float32(0.0), out=out)
    return out


def _loop_plan(voice: Voice, f0: float, sr: int) -> tuple[int, int, float, float]:
    """(settle, period, f, vibrato rate): samples until the tone is steady, samples of one loop
    (a whole number of cycles of f, of the detuned saws and of the vibrato), f0 rounded so it
    fits the loop exactly (error < 0.1 cent), and the vibrato rate rounded likewise."""
    if voice.kind == "saws":
        seconds = min(2.0, max(0.5, 120.0 / f0))
    else:
        seconds = 0.5 if voice.vibrato > 0.0 else 0.25
    cycles = max(1, round(f0 * seconds))
    period = max(1, round(cycles * sr / f0))
    f = cycles * sr / period
    rate = max(1, round(5.5 * period / sr)) * sr / period
    settle = 0
    if voice.vibrato > 0.0:
        settle = int(VIBRATO_FADE * sr) + 1
    if voice.kind == "fm":
        settle = max(settle, int(4 * 0.35 * (voice.ring or 1.0) * sr))
    elif voice.bright_tau is not None:
        settle = max(settle, int(4 * voice.bright_tau * sr))
    return settle, period, f, rate


@lru_cache(maxsize=256)
def _lowpass(cutoff: float, sr: int, q: float = 0.707) -> np.ndarray:
    """2nd-order low-pass (RBJ biquad, Q = q; 0.707 is Butterworth) as float32 sos (a pure memo
    of the filter design)."""
    w0 = 2.0 * np.pi * min(cutoff, 0.45 * sr) / sr
    alpha = np.sin(w0) / (2.0 * q)
    cos = np.cos(w0)
    b = np.array([(1 - cos) / 2, 1 - cos, (1 - cos) / 2])
    a = np.array([1 + alpha, -2 * cos, 1 - alpha])
    sos = np.concatenate([b / a[0], a / a[0]])[None, :].astype(np.float32)
    sos.flags.writeable = False
    return sos


def tone_shape(voice: Voice, pitch: int, *, sr: int) -> tuple[int, int]:
    """(full, period) in samples: a tone of `voice` at MIDI `pitch` is computed for its first
    `full` samples (attack until steady, then one loop); after that its last `period` samples
    repeat seamlessly."""
    settle, period, _, _ = _loop_plan(voice, midi_to_hz(pitch), sr)
    return settle + (FILTER_SETTLE if voice.kind == "saws" else 0) + period, period


def tone(voice: Voice, pitch: int, brightness: float, n: int, *, sr: int, ramps: Ramps) -> np.ndarray:
    """The first n samples of the un-enveloped tone of `voice` at MIDI `pitch` (brightness
    0..1): float32 (n,). The attack's changing timbre is computed sample by sample until the
    tone is steady; after that one loop period (whole cycles) repeats seamlessly. Only the
    samples asked for are computed, so short notes cost little.
    """
    full, period = tone_shape(voice, pitch, sr=sr)
    return loop_tone(tone_head(voice, pitch, brightness, min(n, full), sr=sr, ramps=ramps), n,
                     full=full, period=period)


def loop_tone(head: np.ndarray, n: int, *, full: int, period: int) -> np.ndarray:
    """The first n samples of a tone from its computed head (the first min(n', full) samples
    for some n' >= min(n, full)): a slice, or the head with its last period repeated."""
    if n <= len(head):
        return head[:n]
    return np.concatenate([head, np.resize(head[full - period:], n - full)])


def tone_head(voice: Voice, pitch: int, brightness: float, m: int, *, sr: int, ramps: Ramps) -> np.ndarray:
    """The first m <= full samples of the tone (see `tone_shape`), computed: float32 (m,).
    Causal throughout (sample i never depends on later samples), so a longer head starts
    with exactly the samples of a shorter one."""
    f0 = midi_to_hz(pitch)
    settle, period, f, rate = _loop_plan(voice, f0, sr)
    if voice.kind == "fm":
        ratio = max(1, round(voice.fm_ratio * f * period / sr)) / (f * period / sr)
        index = voice.fm_index * (0.4 + 0.9 * brightness) * min(1.0, 2000.0 / (f0 * voice.fm_ratio))
        to_rad = np.float32(2 * np.pi / TABLE)
        mod = phase_index(f * ratio, m, sr=sr, ramps=ramps).astype(np.float32)
        mod *= to_rad
        np.sin(mod, out=mod)
        mod *= settling(0.35 * (voice.ring or 1.0), m, settle, sr=sr, ramps=ramps)
        mod *= np.float32(index)
        y = phase_index(f, m, sr=sr, ramps=ramps).astype(np.float32)
        y *= to_rad
        y += mod
        np.sin(y, out=y)
    elif voice.kind == "saws":
        table = wavetable(f0, 1.0, sr=sr, saw=True)
        shape = vibrato_shape(m, rate, sr=sr, ramps=ramps) if voice.vibrato > 0.0 else None
        y = np.zeros(m, np.float32)
        cycles = round(f * period / sr)
        spread = np.linspace(-voice.detune / 2, voice.detune / 2, voice.voices) if voice.voices > 1 else [0.0]
        for cents in spread:
            c = round(cycles * 2.0 ** (cents / 1200.0))
            c = c if cents == 0.0 or c != cycles else cycles + (1 if cents > 0 else -1)
            y += table.take(phase_index(c * sr / period, m, sr=sr, ramps=ramps, vibrato=voice.vibrato,
                                        shape=shape, rate=rate))
        cutoff = min(0.45 * sr, f0 * voice.cutoff * (0.6 + 0.8 * brightness) + 200.0)
        y = signal.sosfilt(_lowpass(cutoff, sr, voice.resonance).copy(), y)  # (sosfilt wants a writable sos)
        y *= np.float32(1.0 / (1.6 * np.sqrt(len(spread) / 3.0)))
        if voice.drive > 0.0:  # waveshaping, then the cabinet takes the fizz off
            y = np.tanh(np.float32(voice.drive) * y) * np.float32(1.0 / np.tanh(voice.drive))
        if voice.cabinet is not None:  # a steep (4th-order) cabinet roll-off
            cab = _lowpass(voice.cabinet, sr)
            y = signal.sosfilt(np.concatenate([cab, cab]), y)
        y = np.asarray(y, np.float32)
    else:
        bright = wavetable(f0, voice.slope_bright, sr=sr, odd=voice.odd, partials=voice.partials, pluck=voice.pluck)
        dull = wavetable(f0, voice.slope_dull, sr=sr, odd=voice.odd, partials=voice.partials, pluck=voice.pluck)
        idx = phase_index(f, m, sr=sr, ramps=ramps, vibrato=voice.vibrato, rate=rate)
        mix = np.float32(0.3 + 0.7 * brightness)
        if voice.bright_tau is None:
            y = ((1 - mix) * dull + mix * bright).take(idx)
        else:
            y = (bright - dull).take(idx)
            y *= settling(voice.bright_tau, m, settle, sr=sr, ramps=ramps)
            y *= mix
            y += dull.take(idx)
    return np.asarray(y, np.float32)


def velocity_gain(velocity: int) -> float:
    """Linear amplitude for a MIDI velocity 1..127 (about 30 dB of range)."""
    return (max(1, min(127, velocity)) / 127.0) ** 1.7
