"""Styles: named, data-described idioms (engine/data/styles.yaml) the composer plays in.

A style fixes meter, feel (swing), tempo range, instruments per role (GM programs), the drum
kit and its grooves, bass and comping patterns, harmony language, melody character, form and
mix. Styles are part of the engine (a change to the file changes output bytes, so it bumps
ENGINE_VERSION); the file is read once per process (`style_catalog()`, a pure memo of a
packaged file) and validated then: a malformed style fails loudly at import, never per request.

With direct geometry and no style, `style_for_geometry` picks one by a documented rule.
"""
from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from engine.errors import ParameterError, StyleFileError

METERS = {"4/4": (4, 4), "3/4": (3, 4), "6/8": (6, 8)}
ROLES = ("melody", "harmony", "bass", "pad", "counter", "timpani")
REQUIRED_ROLES = ("melody", "harmony", "bass")
KITS = {0: "standard", 8: "room", 16: "power", 24: "electronic (909)", 25: "TR-808", 32: "jazz",
        40: "brush", 48: "orchestra"}
#: Drum lane -> General MIDI percussion key.
LANES = {
    "kick": 36, "snare": 38, "rim": 37, "clap": 39, "hat": 42, "pedal": 44, "ohat": 46,
    "crash": 49, "ride": 51, "bell": 53, "tamb": 54, "cowbell": 56, "shaker": 70, "clave": 75,
    "conga_hi": 62, "conga_lo": 64, "tom_lo": 45, "tom_mid": 47, "tom_hi": 50, "wood": 76,
    "triangle": 81,
}
STEP_CHARS = frozenset(".xXor3")
BASS_PATTERNS = ("held", "root-fifth", "walking", "octave-pump", "offbeat", "eighths", "one-drop",
                 "808", "acid", "bossa", "funk", "arp", "pedal", "waltz")
COMPING_PATTERNS = ("pad", "block", "stabs", "offbeat-stabs", "skank", "strum", "power", "arpeggio",
                    "alberti", "bossa", "charleston", "waltz", "gated", "sparse", "bubble")
SECTIONS = ("intro", "verse", "chorus", "build", "drop", "breakdown", "bridge", "solo", "outro")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

#: GM program names for the roles a style lists (shown by GET /styles).
GM_NAMES = {
    0: "Acoustic Grand Piano", 1: "Bright Acoustic Piano", 4: "Electric Piano 1", 5: "Electric Piano 2",
    8: "Celesta", 9: "Glockenspiel", 10: "Music Box", 11: "Vibraphone", 12: "Marimba",
    14: "Tubular Bells", 16: "Drawbar Organ", 17: "Percussive Organ", 18: "Rock Organ",
    22: "Harmonica", 24: "Acoustic Guitar (nylon)", 25: "Acoustic Guitar (steel)",
    26: "Electric Guitar (jazz)", 27: "Electric Guitar (clean)", 28: "Electric Guitar (muted)",
    29: "Overdriven Guitar", 30: "Distortion Guitar", 32: "Acoustic Bass", 33: "Electric Bass (finger)",
    34: "Electric Bass (pick)", 36: "Slap Bass 1", 38: "Synth Bass 1", 39: "Synth Bass 2",
    40: "Violin", 41: "Viola", 42: "Cello", 43: "Contrabass", 44: "Tremolo Strings",
    46: "Orchestral Harp", 47: "Timpani", 48: "String Ensemble 1", 49: "String Ensemble 2",
    50: "Synth Strings 1", 52: "Choir Aahs", 56: "Trumpet", 58: "Tuba", 60: "French Horn",
    61: "Brass Section", 65: "Alto Sax", 66: "Tenor Sax", 72: "Piccolo", 73: "Flute",
    78: "Whistle", 80: "Lead 1 (square)", 81: "Lead 2 (sawtooth)", 88: "Pad 1 (new age)",
    89: "Pad 2 (warm)", 90: "Pad 3 (polysynth)", 91: "Pad 4 (choir)", 92: "Pad 5 (bowed)",
    94: "Pad 7 (halo)", 95: "Pad 8 (sweep)", 105: "Banjo", 110: "Fiddle",
}


@dataclass(frozen=True)
class Melody:
    """Melody character. register: (lo, hi) MIDI pitches at xi = 0. density: notes per beat at
    |omega| = 1. unit: 8 or 16, the finest melody step. phrase_bars: bars per phrase.
    step: share of moves by scale step. rest: share of motif slots left silent."""

    register: tuple[int, int]
    density: float
    unit: int
    phrase_bars: int
    step: float
    rest: float


@dataclass(frozen=True)
class Style:
    """One style (see the header of engine/data/styles.yaml for every field's meaning).

    meter: (beats per bar, beat unit). swing: off-beat position within a swing pair (0.5 =
    straight). swing_unit: 8 or 16. tempo: (lo, hi) BPM. kit: GM drum kit program or None.
    instruments: role -> GM program. grooves: drum bars, sparse to busy (lane -> step string).
    fill: the section-ending bar. progressions: scale-degree chord cycles. extension: 0..2.
    """

    id: str
    name: str
    description: str
    meter: tuple[int, int]
    swing: float
    swing_unit: int
    tempo: tuple[float, float]
    kit: int | None
    instruments: Mapping[str, int]
    grooves: tuple[Mapping[str, str], ...]
    fill: Mapping[str, str]
    bass: str
    comping: str
    progressions: tuple[tuple[int, ...], ...]
    extension: int
    melody: Melody
    form: tuple[str, ...]
    section_bars: int
    mix: Mapping[str, float] = field(default_factory=dict)

    @property
    def meter_text(self) -> str:
        return f"{self.meter[0]}/{self.meter[1]}"

    @property
    def feel(self) -> str:
        """'straight', or 'swing 0.67 (8ths)'."""
        if self.swing == 0.5:
            return "straight"
        return f"swing {self.swing:g} ({self.swing_unit}ths)"

    def summary(self) -> dict[str, Any]:
        """What GET /styles shows: id, name, description, meter, feel, tempo range, instruments."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "meter": self.meter_text,
            "feel": self.feel,
            "swing": self.swing,
            "tempo_range": list(self.tempo),
            "instruments": {role: {"program": p, "name": GM_NAMES.get(p, f"GM program {p}")}
                            for role, p in self.instruments.items()},
            "drums": None if self.kit is None else KITS[self.kit],
        }


class StyleCatalog:
    """The styles in file order, indexed by id."""

    def __init__(self, styles: list[Style]):
        self.styles = tuple(styles)
        self._by_id = {s.id: s for s in self.styles}
        if len(self._by_id) != len(self.styles):
            raise StyleFileError("duplicate style id")

    def get(self, style_id: str) -> Style:
        """The style with this id; raises ParameterError('style', 'one of ...') when unknown."""
        try:
            return self._by_id[style_id]
        except (KeyError, TypeError):
            raise ParameterError("style", "one of " + ", ".join(self.ids()),
                                 f"Unknown style '{style_id}': 'style' must be one of "
                                 + ", ".join(self.ids())) from None

    def ids(self) -> list[str]:
        return [s.id for s in self.styles]

    def __contains__(self, style_id: object) -> bool:
        return style_id in self._by_id

    def __iter__(self) -> Iterator[Style]:
        return iter(self.styles)

    def __len__(self) -> int:
        return len(self.styles)


def default_styles_path() -> pathlib.Path:
    """engine/data/styles.yaml next to this module."""
    return pathlib.Path(__file__).resolve().parent / "data" / "styles.yaml"


def _need(ok: bool, sid: str, what: str) -> None:
    if not ok:
        raise StyleFileError(f"style '{sid}': {what}")


def _check_groove(sid: str, meter: tuple[int, int], groove: Any) -> dict[str, str]:
    _need(isinstance(groove, dict) and groove, sid, "a groove must be a mapping of lanes")
    for lane, steps in groove.items():
        _need(lane in LANES, sid, f"unknown drum lane '{lane}'")
        _need(isinstance(steps, str) and steps and set(steps) <= STEP_CHARS, sid,
              f"lane '{lane}' must be a string of {''.join(sorted(STEP_CHARS))}")
    return dict(groove)


def style_from_dict(raw: Any) -> Style:
    """Build and validate one style; raises StyleFileError naming the style and the problem."""
    sid = raw.get("id") if isinstance(raw, dict) else None
    _need(isinstance(sid, str) and bool(_SLUG.match(sid)), str(sid), "id must be a slug")
    for key in ("name", "description", "meter", "tempo", "instruments", "bass", "comping",
                "harmony", "melody", "form", "section_bars"):
        _need(key in raw, sid, f"field '{key}' is required")
    _need(raw["meter"] in METERS, sid, "meter must be one of " + ", ".join(METERS))
    meter = METERS[raw["meter"]]
    swing = float(raw.get("swing", 0.5))
    _need(0.5 <= swing <= 0.75, sid, "swing must be from 0.5 to 0.75")
    lo, hi = raw["tempo"]
    _need(40 <= lo <= hi <= 300, sid, "tempo must be [lo, hi] within 40..300")
    kit = raw.get("kit")
    _need(kit is None or kit in KITS, sid, "kit must be null or one of " + ", ".join(map(str, KITS)))
    inst = raw["instruments"]
    _need(isinstance(inst, dict) and all(r in inst for r in REQUIRED_ROLES), sid,
          "instruments need melody, harmony and bass")
    _need(all(r in ROLES and isinstance(p, int) and 0 <= p <= 127 for r, p in inst.items()), sid,
          "instruments map roles (" + ", ".join(ROLES) + ") to GM programs 0..127")
    grooves = tuple(_check_groove(sid, meter, g) for g in raw.get("grooves") or ())
    _need((kit is None) == (not grooves), sid, "a style with a kit needs grooves, one without none")
    fill = _check_groove(sid, meter, raw["fill"]) if raw.get("fill") else {}
    _need(raw["bass"] in BASS_PATTERNS, sid, "bass must be one of " + ", ".join(BASS_PATTERNS))
    _need(raw["comping"] in COMPING_PATTERNS, sid, "comping must be one of " + ", ".join(COMPING_PATTERNS))
    harmony = raw["harmony"]
    progs = tuple(tuple(int(d) for d in p) for p in harmony["progressions"])
    _need(progs and all(p and all(0 <= d <= 6 for d in p) for p in progs), sid,
          "progressions are lists of scale degrees 0..6")
    m = raw["melody"]
    melody = Melody(register=(int(m["register"][0]), int(m["register"][1])), density=float(m["density"]),
                    unit=int(m["unit"]), phrase_bars=int(m["phrase_bars"]), step=float(m["step"]),
                    rest=float(m["rest"]))
    _need(36 <= melody.register[0] < melody.register[1] <= 100, sid, "melody register out of range")
    _need(melody.unit in (8, 16) and 0 < melody.density <= 4 and 0 <= melody.rest < 1, sid,
          "melody unit 8|16, density 0..4, rest 0..1")
    _need(all(s in SECTIONS for s in raw["form"]), sid, "form sections must be among " + ", ".join(SECTIONS))
    return Style(
        id=sid, name=str(raw["name"]), description=str(raw["description"]), meter=meter, swing=swing,
        swing_unit=int(raw.get("swing_unit", 8)), tempo=(float(lo), float(hi)), kit=kit,
        instruments=dict(inst), grooves=grooves, fill=fill, bass=raw["bass"], comping=raw["comping"],
        progressions=progs, extension=int(harmony.get("extension", 0)), melody=melody,
        form=tuple(raw["form"]), section_bars=int(raw["section_bars"]), mix=dict(raw.get("mix") or {}),
    )


def load_styles(path: str | pathlib.Path | None = None) -> StyleCatalog:
    """Load and validate a styles file (default: the packaged engine/data/styles.yaml)."""
    path = pathlib.Path(path) if path is not None else default_styles_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise StyleFileError(f"cannot read styles file {path}: {err}") from None
    raws = data.get("styles") if isinstance(data, dict) else None
    if not isinstance(raws, list) or not raws:
        raise StyleFileError(f"styles file {path}: expected a non-empty 'styles' list")
    return StyleCatalog([style_from_dict(r) for r in raws])


@lru_cache(maxsize=1)
def style_catalog() -> StyleCatalog:
    """The engine's styles (a pure memo of the packaged file)."""
    return load_styles()


def get_style(style_id: str) -> Style:
    """The engine style with this id; ParameterError naming 'style' and the valid ids if unknown."""
    return style_catalog().get(style_id)


def style_for_geometry(*, omega: float, xi: float, lock_psi_tau: bool) -> str:
    """The style direct params play in when the request names none (documented in README).

    Free timing (lock_psi_tau false) has no drum kit: |omega| < 1 ambient, < 4 classical,
    else cinematic. Locked: |omega| < 2 pop (xi >= 0) or synthwave (xi < 0); < 5 house or
    techno; else rock or metal. So the API example (omega 2.5, xi 1.8) is house.
    """
    a = abs(omega)
    if not lock_psi_tau:
        return "ambient" if a < 1 else "classical" if a < 4 else "cinematic"
    bright = xi >= 0
    if a < 2:
        return "pop" if bright else "synthwave"
    if a < 5:
        return "house" if bright else "techno"
    return "rock" if bright else "metal"
