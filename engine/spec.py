"""RenderSpec: everything that determines the output bytes, frozen and canonical.

The canonical JSON of a spec (sorted keys, quantised floats) hashed with SHA-256 gives the job
id; a second hash over the musical fields only (not the format or preset label) seeds every
random choice, so the WAV, MP3 and MIDI of one request are renderings of the same Score.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

from engine.errors import ParameterError
from engine.keys import Key, key_of, parse_key
from engine.styles import get_style, style_for_geometry

#: Bump whenever a change alters output bytes for an existing spec (cache keys include it).
ENGINE_VERSION = "2"

SAMPLE_RATE = 44100  #: Hz, every audio output
FORMATS = ("wav", "mp3", "midi", "stems")
TWO_PI = 2.0 * math.pi

N_RANGE = (2, 2000)
OMEGA_RANGE = (-10.0, 10.0)
XI_RANGE = (-10.0, 10.0)
PSI_RANGE = (0.0, TWO_PI)
TEMPO_RANGE = (40.0, 300.0)  #: BPM
DURATION_RANGE = (1.0, 300.0)  #: seconds

DEFAULT_TEMPO = 120.0  #: BPM
DEFAULT_DURATION = 30.0  #: seconds
DEFAULT_FORMAT = "wav"
PREVIEW_DURATION = 5.0  #: seconds

#: Geometry defaults for fields a request leaves out. k defaults to the diatonic step for n.
GEOMETRY_DEFAULTS: dict[str, Any] = {
    "n": 24,
    "omega": 1.0,
    "xi": 1.0,
    "psi": 0.0,
    "lock_psi_tau": True,
}
GEOMETRY_FIELDS = ("n", "k", "omega", "xi", "psi", "lock_psi_tau")

#: Optional fields added after 1.0 and their defaults: left out of to_dict (and so of the id and
#: the seed) while at their default, so a request that does not use them keeps its id.
_OPTIONAL_FIELDS = {"style": None, "key": None, "variation": 0, "loop": False}
VARIATION_MAX = 2**31 - 1

#: Decimal places kept for each float field; values are rounded to these on construction.
_FLOAT_PLACES = {"omega": 6, "xi": 6, "psi": 6, "tempo": 3, "duration_seconds": 3}


def loop_bars(duration: float, bar: float) -> int:
    """Whole bars of a loop asked to last `duration` seconds, with bars of `bar` seconds: the
    nearest whole number (halves round up), at least one bar, and at most what fits in the
    duration limit (300 s)."""
    bars = max(1, math.floor(duration / bar + 0.5))
    while bars > 1 and bars * bar > DURATION_RANGE[1] + 5e-4:
        bars -= 1
    return bars


def default_k(n: int) -> int:
    """The default texture step for n points: the one nearest a fourth (12*k/n ~ 5 semitones)."""
    return max(1, min(n // 2, round(5 * n / 12)))


def k_range(n: int) -> tuple[int, int]:
    """Allowed k for n points: 1 .. n // 2."""
    return 1, max(1, n // 2)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) >= 1e6 else f"{x:g}"


def _check_number(name: str, value: Any, lo: float, hi: float, *, integer: bool) -> float | int:
    allowed = f"{'an integer' if integer else 'a number'} from {_fmt(lo)} to {_fmt(hi)}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, allowed)
    if integer and isinstance(value, float):
        if not value.is_integer():
            raise ParameterError(name, allowed)
        value = int(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ParameterError(name, allowed)
    return value


def validate_geometry(params: dict[str, Any], *, prefix: str = "params.") -> dict[str, Any]:
    """Check and complete geometry params; return a new dict with all six fields.

    Missing fields take GEOMETRY_DEFAULTS (k: `default_k(n)`). Raises ParameterError naming
    the field (with `prefix`) and its allowed range. Unknown keys are an error too.
    """
    unknown = sorted(set(params) - set(GEOMETRY_FIELDS))
    if unknown:
        raise ParameterError(prefix + unknown[0], "one of " + ", ".join(GEOMETRY_FIELDS),
                             f"Unknown geometry parameter '{prefix}{unknown[0]}'")
    out = {**GEOMETRY_DEFAULTS, **params}
    out["n"] = int(_check_number(prefix + "n", out["n"], *N_RANGE, integer=True))
    lo, hi = k_range(out["n"])
    if "k" not in params or params["k"] is None:
        out["k"] = default_k(out["n"])
    allowed_k = f"an integer from {lo} to n/2 = {hi}"
    k = out["k"]
    if isinstance(k, bool) or not isinstance(k, (int, float)) or (isinstance(k, float) and not k.is_integer()):
        raise ParameterError(prefix + "k", allowed_k)
    if not lo <= k <= hi:
        raise ParameterError(prefix + "k", allowed_k)
    out["k"] = int(k)
    out["omega"] = float(_check_number(prefix + "omega", out["omega"], *OMEGA_RANGE, integer=False))
    out["xi"] = float(_check_number(prefix + "xi", out["xi"], *XI_RANGE, integer=False))
    out["psi"] = float(_check_number(prefix + "psi", out["psi"], *PSI_RANGE, integer=False))
    if not isinstance(out["lock_psi_tau"], bool):
        raise ParameterError(prefix + "lock_psi_tau", "true or false")
    return out


@dataclass(frozen=True)
class RenderSpec:
    """One fully resolved render request.

    n: number of points on the circle (2..2000). k: step (1..n/2). omega: rotation speed
    (-10..10; |omega| = rate of motion, sign = direction). xi: vertical perturbation (-10..10;
    |xi| = register spread and dynamics, sign = brightness: >= 0 major-like, < 0 minor-like).
    psi: phase in radians (0..2pi), tonic pitch class round(12*psi/2pi) mod 12.
    lock_psi_tau: onsets on a 16th-note grid with percussion. tempo: BPM (40..300).
    duration_seconds: seconds (1..300). format: wav | mp3 | midi | stems (a ZIP of one WAV
    per voice, the MIDI and a manifest: engine.stems). sample_rate: Hz.
    preset: id of the preset a prompt matched (a label: it is part of the id, not the music).
    style: id of the style (engine/data/styles.yaml) named by the request or its preset; None:
        chosen from the geometry (`style_id`). Left out of the hashed form when None.
    key: a named key ("D minor", "C# dorian"), stored in its canonical spelling; it sets the
        tonic and the mode (engine.keys). None: psi's tonic and xi's sign. Left out when None.
    variation: another take of the same request, 0..2**31-1 (0: the first). Left out when 0.
    loop: a seamless loop (no intro, fade or final cadence; the end's tails folded onto the
        start). duration_seconds is rounded to whole bars on construction (`loop_bars`), so two
        requests that round alike are one job. Left out when False.
    """

    n: int
    k: int
    omega: float
    xi: float
    psi: float
    lock_psi_tau: bool
    tempo: float = DEFAULT_TEMPO
    duration_seconds: float = DEFAULT_DURATION
    format: str = DEFAULT_FORMAT
    sample_rate: int = SAMPLE_RATE
    preset: str | None = None
    engine_version: str = field(default=ENGINE_VERSION)
    style: str | None = None
    key: str | None = None
    variation: int = 0
    loop: bool = False

    def __post_init__(self) -> None:
        geometry = validate_geometry({f: getattr(self, f) for f in GEOMETRY_FIELDS}, prefix="params.")
        tempo = _check_number("tempo", self.tempo, *TEMPO_RANGE, integer=False)
        duration = _check_number("duration_seconds", self.duration_seconds, *DURATION_RANGE, integer=False)
        if self.format not in FORMATS:
            raise ParameterError("format", "one of " + ", ".join(FORMATS))
        if self.style is not None:
            get_style(self.style)  # ParameterError naming 'style' and the valid ids
        if self.key is not None:
            object.__setattr__(self, "key", parse_key(self.key).name)
        variation = _check_number("variation", self.variation, 0, VARIATION_MAX, integer=True)
        object.__setattr__(self, "variation", int(variation))
        if not isinstance(self.loop, bool):
            raise ParameterError("loop", "true or false")
        if self.sample_rate != SAMPLE_RATE:
            raise ParameterError("sample_rate", str(SAMPLE_RATE))
        values = {**geometry, "tempo": float(tempo), "duration_seconds": float(duration)}
        for name, places in _FLOAT_PLACES.items():
            values[name] = round(float(values[name]), places) + 0.0  # + 0.0 folds -0.0 into 0.0
        for name, value in values.items():
            object.__setattr__(self, name, value)
        if self.loop:
            bars = loop_bars(self.duration_seconds, self.bar_seconds)
            object.__setattr__(self, "duration_seconds",
                               round(bars * self.bar_seconds, _FLOAT_PLACES["duration_seconds"]) + 0.0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderSpec:
        """Inverse of `to_dict` (e.g. a job file read back from disk)."""
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON-able data (a new dict each call); optional fields that are
        at their default (None) are left out, so adding one never changes existing ids."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, default in _OPTIONAL_FIELDS.items():
            if out[name] == default and type(out[name]) is type(default):
                del out[name]
        return out

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, floats already quantised: the hashed form."""
        return self._canonical_json

    @cached_property
    def _canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @property
    def style_id(self) -> str:
        """The style the piece plays in: the one named, else the geometry's (style_for_geometry)."""
        if self.style is not None:
            return self.style
        return style_for_geometry(omega=self.omega, xi=self.xi, lock_psi_tau=self.lock_psi_tau)

    @cached_property
    def id(self) -> str:
        """Job id: 32 lower-case hex digits (128 bits) of SHA-256 over the canonical JSON."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:32]

    @property
    def params(self) -> dict[str, Any]:
        """The six geometry fields."""
        return {f: getattr(self, f) for f in GEOMETRY_FIELDS}

    @cached_property
    def seed(self) -> int:
        """64-bit seed from the musical fields only (not format, not preset label)."""
        music = {k: v for k, v in self.to_dict().items() if k not in ("format", "preset")}
        digest = hashlib.sha256(json.dumps(music, sort_keys=True, separators=(",", ":")).encode()).digest()
        return int.from_bytes(digest[:8], "big")

    @property
    def bar_seconds(self) -> float:
        """Seconds per bar of the style's meter at the tempo (a quarter note is 60 / tempo s)."""
        beats, unit = get_style(self.style_id).meter
        return beats * 4.0 / unit * 60.0 / self.tempo

    @property
    def seconds(self) -> float:
        """Exact length in seconds: duration_seconds, or for a loop its whole bars exactly
        (duration_seconds is that, rounded to the millisecond)."""
        if not self.loop:
            return self.duration_seconds
        return loop_bars(self.duration_seconds, self.bar_seconds) * self.bar_seconds

    @property
    def reported_seconds(self) -> float:
        """The length a client is told: duration_seconds, or for a loop its exact length to the
        microsecond (so round(reported_seconds * sample_rate) is the audio's frame count)."""
        return round(self.seconds, 6) + 0.0 if self.loop else self.duration_seconds

    @property
    def frames(self) -> int:
        """Exact length of the audio in sample frames: round(seconds * sample_rate)."""
        return round(self.seconds * self.sample_rate)

    @property
    def tonic(self) -> int:
        """Tonic pitch class 0..11 (0 = C): the key's, else round(12 * psi / 2pi) mod 12."""
        if self.key is not None:
            return parse_key(self.key).tonic
        return round(12.0 * self.psi / TWO_PI) % 12

    @property
    def musical_key(self) -> Key:
        """The key the piece is in: the named one, else psi's tonic with xi's sign (>= 0 major)."""
        if self.key is not None:
            return parse_key(self.key)
        return key_of(self.tonic, self.xi < 0)

    @property
    def extension(self) -> str:
        """File extension for the format: wav, mp3, mid or zip."""
        return {"wav": "wav", "mp3": "mp3", "midi": "mid", "stems": "zip"}[self.format]

    @property
    def media_type(self) -> str:
        """Content-Type of the output."""
        return {"wav": "audio/wav", "mp3": "audio/mpeg", "midi": "audio/midi",
                "stems": "application/zip"}[self.format]

    def with_(self, **changes: Any) -> RenderSpec:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)
