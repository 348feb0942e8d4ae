"""Listener-side analysis of rendered music (MIDI bytes and audio), numpy/scipy only.

These tools measure what a listener hears, from the output files alone: key and tonic
(Krumhansl-Kessler profiles), pitch-class sets, onset grid alignment, onset rate, register and
velocity spread, contour direction, repetition period, and the beat tempo of audio.
Times are seconds, pitches MIDI note numbers, tempo BPM.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np

#: Krumhansl & Kessler (1982) probe-tone profiles, index 0 = tonic.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
DRUM_KICK, DRUM_SNARES, DRUM_HATS = 36, (38, 40), (42, 44, 46)


@dataclass(frozen=True)
class Track:
    """One MIDI instrument: name, program, is_drum and its notes as parallel float/int arrays."""

    name: str
    program: int
    is_drum: bool
    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray


@dataclass(frozen=True)
class Midi:
    """A parsed MIDI file: tempo (BPM from the first tempo event), end time and tracks."""

    tempo: float
    end_time: float
    tracks: tuple[Track, ...]

    def pitched(self) -> Track:
        """All non-drum notes merged into one track, sorted by (start, pitch)."""
        return _merge([t for t in self.tracks if not t.is_drum], "pitched")

    def drums(self) -> Track:
        return _merge([t for t in self.tracks if t.is_drum], "drums")

    def track(self, name: str) -> Track:
        return next(t for t in self.tracks if t.name == name)


def _merge(tracks: list[Track], name: str) -> Track:
    if not tracks:
        z = np.zeros(0)
        return Track(name, 0, False, z, z, z.astype(int), z.astype(int))
    cat = {f: np.concatenate([getattr(t, f) for t in tracks]) for f in ("start", "end", "pitch", "velocity")}
    order = np.lexsort((cat["pitch"], cat["start"]))
    return Track(name, -1, tracks[0].is_drum, *(cat[f][order] for f in ("start", "end", "pitch", "velocity")))


def read_midi(data: bytes) -> Midi:
    """Parse MIDI bytes with pretty_midi (its warnings about meta events are not ours)."""
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    _, tempi = pm.get_tempo_changes()
    tracks = []
    for inst in pm.instruments:
        notes = sorted(inst.notes, key=lambda n: (n.start, n.pitch))
        tracks.append(Track(inst.name, inst.program, inst.is_drum,
                            np.array([n.start for n in notes]), np.array([n.end for n in notes]),
                            np.array([n.pitch for n in notes], int), np.array([n.velocity for n in notes], int)))
    return Midi(float(tempi[0]) if len(tempi) else 120.0, float(pm.get_end_time()), tuple(tracks))


def pc_histogram(track: Track) -> np.ndarray:
    """Duration-weighted pitch-class histogram (12 floats, seconds per pitch class)."""
    return np.bincount(track.pitch % 12, weights=track.end - track.start, minlength=12)


def estimate_key(hist: np.ndarray) -> tuple[int, str, float]:
    """Krumhansl-Schmuckler: (tonic pitch class, 'major'|'minor', correlation) best fitting `hist`."""
    best = (0, "major", -2.0)
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if r > best[2]:
                best = (tonic, mode, r)
    return best


def pitch_class_set(track: Track) -> set[int]:
    """Pitch classes that occur at all."""
    return {int(p) for p in np.unique(track.pitch % 12)}


def grid_fraction(onsets: np.ndarray, tempo: float, *, tol: float = 0.003) -> float:
    """Fraction of onsets within `tol` seconds of the 16th-note grid at `tempo` BPM."""
    if len(onsets) == 0:
        return 0.0
    step = 60.0 / tempo / 4.0
    off = np.abs(onsets / step - np.rint(onsets / step)) * step
    return float(np.mean(off <= tol))


def onset_rate(onsets: np.ndarray, duration: float) -> float:
    """Distinct onsets per second (chord tones struck together count once)."""
    return len(np.unique(np.round(onsets, 3))) / duration


def register_spread(track: Track) -> float:
    """Standard deviation of MIDI pitch (semitones)."""
    return float(np.std(track.pitch)) if len(track.pitch) else 0.0


def velocity_spread(track: Track) -> float:
    """Standard deviation of MIDI velocity."""
    return float(np.std(track.velocity)) if len(track.velocity) else 0.0


def contour_direction(track: Track) -> float:
    """Mean sign of the melodic steps between consecutive notes (-1 all down .. +1 all up)."""
    steps = np.diff(track.pitch)
    steps = steps[steps != 0]
    return float(np.mean(np.sign(steps))) if len(steps) else 0.0


def local_slope(track: Track, *, window: float) -> float:
    """Median over consecutive windows of `window` s of the pitch-vs-time slope (semitones/s)."""
    slopes = []
    for t0 in np.arange(0.0, track.end.max() if len(track.end) else 0.0, window):
        m = (track.start >= t0) & (track.start < t0 + window)
        if m.sum() >= 3 and np.ptp(track.start[m]) > 0:
            slopes.append(np.polyfit(track.start[m], track.pitch[m], 1)[0])
    return float(np.median(slopes)) if slopes else 0.0


def interval_class_histogram(pitches: np.ndarray) -> np.ndarray:
    """Counts of interval classes 0..6 between consecutive pitches."""
    ic = np.abs(np.diff(pitches)) % 12
    return np.bincount(np.minimum(ic, 12 - ic), minlength=7)


def period(seq: np.ndarray) -> int:
    """Smallest lag L > 0 with seq[i] == seq[i + L] for every i; len(seq) if there is none."""
    seq = np.asarray(seq)
    for lag in range(1, len(seq)):
        if np.array_equal(seq[lag:], seq[:-lag]):
            return lag
    return len(seq)


def first_repeat(seq: np.ndarray, *, window: int) -> int:
    """Smallest lag at which the opening `window` items recur exactly; len(seq) if never."""
    seq = np.asarray(seq)
    head = seq[:window]
    for lag in range(1, len(seq) - window + 1):
        if np.array_equal(seq[lag:lag + window], head):
            return lag
    return len(seq)


def _stft_mag(y: np.ndarray, sr: int, *, n_fft: int, hop: int) -> np.ndarray:
    mono = y.mean(axis=1) if y.ndim == 2 else y
    frames = 1 + max(0, len(mono) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.abs(np.fft.rfft(mono[idx] * np.hanning(n_fft), axis=1))


def audio_chroma(y: np.ndarray, sr: int, *, fmin: float = 55.0, fmax: float = 2000.0) -> np.ndarray:
    """Energy per pitch class (12 floats) of the spectral peaks of samples `y` (frames[, channels]).

    A long window (16384 samples, ~2.7 Hz bins) separates bass semitones; only local maxima
    of each frame's magnitude spectrum count, each adding its power to its nearest pitch class.
    """
    n_fft = 16384
    mag = _stft_mag(y, sr, n_fft=n_fft, hop=n_fft // 2)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    band = (freqs >= fmin) & (freqs <= fmax)
    m = mag[:, band]
    peak = np.zeros_like(m, bool)
    peak[:, 1:-1] = (m[:, 1:-1] > m[:, :-2]) & (m[:, 1:-1] >= m[:, 2:])
    pcs = np.rint(12 * np.log2(freqs[band] / 440.0) + 69).astype(int) % 12
    return np.bincount(pcs, weights=np.where(peak, m * m, 0.0).sum(axis=0), minlength=12)


def onset_envelope(y: np.ndarray, sr: int, *, hop: int = 512) -> tuple[np.ndarray, float]:
    """Spectral-flux onset strength (half-wave rectified, log magnitude) and its frame rate (Hz)."""
    mag = np.log1p(100.0 * _stft_mag(y, sr, n_fft=2048, hop=hop))
    flux = np.maximum(np.diff(mag, axis=0), 0.0).sum(axis=1)
    return flux - flux.mean(), sr / hop


def estimate_tempo(y: np.ndarray, sr: int, *, lo: float = 40.0, hi: float = 320.0) -> float:
    """Beat tempo (BPM) of audio from the autocorrelation of its onset envelope."""
    env, rate = onset_envelope(y, sr)
    ac = np.correlate(env, env, mode="full")[len(env) - 1:]
    lags = np.arange(len(ac))
    valid = (lags >= rate * 60.0 / hi) & (lags <= rate * 60.0 / lo)
    lag = int(lags[valid][np.argmax(ac[valid])])
    # refine with a parabola through the peak
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return 60.0 * rate / (lag + shift)


def tempo_matches(found: float, tempo: float, *, tol: float = 0.04) -> bool:
    """True if `found` BPM is `tempo`, twice it or half it, within a relative `tol`."""
    return any(abs(found - tempo * m) <= tol * tempo * m for m in (0.5, 1.0, 2.0))


# -- seams: what a listener hears where a loop comes round ------------------------------------
SEAM_WINDOW = 882  #: frames (20 ms, a cycle of 50 Hz) of each short-window level
SEAM_HOP = 147  #: frames (3.3 ms) between level windows: every alignment of a step is seen


def _levels(x: np.ndarray) -> np.ndarray:
    """dB level of SEAM_WINDOW-frame windows starting every SEAM_HOP frames of mono x."""
    power = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
    starts = np.arange(0, len(x) - SEAM_WINDOW + 1, SEAM_HOP)
    return 10.0 * np.log10((power[starts + SEAM_WINDOW] - power[starts]) / SEAM_WINDOW + 1e-10)


def _flux(x: np.ndarray, sr: int) -> np.ndarray:
    """Spectral flux (half-wave rectified magnitude rise) per 512-frame hop of mono x."""
    mag = _stft_mag(x, sr, n_fft=2048, hop=512)
    return np.sqrt(np.square(np.maximum(np.diff(mag, axis=0), 0.0)).sum(axis=1))


def seam(y: np.ndarray, sr: int, *, margin: float = 1.0) -> dict[str, tuple[float, float, float]]:
    """Measures of the join when audio y (frames, 2) is played twice, each as (at the join, the
    least and the largest elsewhere: in the piece but `margin` seconds from either end): the
    sample discontinuity (|second difference|), the 20 ms level (dB) of the windows holding the
    join (the one furthest out of range) and the spectral flux."""
    m = y.astype(np.float64).mean(axis=1)
    n = len(m)
    twice = np.concatenate([m, m])
    inner = m[int(margin * sr): n - int(margin * sr)]
    curve = np.abs(np.diff(twice, 2))  # curve[i] spans frames i .. i + 2
    inner_curve = np.abs(np.diff(inner, 2))
    out = {"discontinuity": (float(curve[n - 2:n].max()), float(inner_curve.min()), float(inner_curve.max()))}
    levels, around = _levels(inner), _levels(twice[n - SEAM_WINDOW + 1: n + SEAM_WINDOW - 1])
    low, high = float(levels.min()), float(levels.max())
    at = float(around.min()) if low - around.min() > around.max() - high else float(around.max())
    out["level"] = (at, low, high)
    span = 4096  # flux frames whose window holds the join
    flux = _flux(inner, sr)
    out["flux"] = (float(_flux(twice[n - span: n + span], sr).max()), float(flux.min()), float(flux.max()))
    return out
