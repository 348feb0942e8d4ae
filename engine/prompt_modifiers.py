"""Modifier words of a prompt and how they nudge a preset's geometry and tempo.

Precedence for tempo (BPM): an explicit "90 bpm" / "tempo 90" > tempo words (slow, upbeat,
frantic: factors on the preset tempo) > the preset tempo. Intensity words scale |omega| and
|xi|; brightness words and a key's mode set the sign of xi (minor-like < 0), and a brightness
word that agrees with the sign already deepens it (|xi| x 1.3: "dark techno" is darker than
techno, "happy jazz" brighter than jazz); direction words set the sign of omega; complexity
words scale n keeping k/n; a key sets psi; lock words set lock_psi_tau. A modifier word that is already one of the chosen preset's own words ("upbeat"
for Corporate) is absorbed: the preset embodies it. Every result is clamped into range.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.prompt_lexicon import Lexicon
from engine.prompt_text import extract_bpm, extract_key, psi_for_pitch_class
from engine.spec import N_RANGE, OMEGA_RANGE, TEMPO_RANGE, XI_RANGE, k_range

FACTOR_RANGE = (0.4, 2.5)  #: product of tempo/intensity/complexity factors is clamped to this
_FLIP_MAGNITUDE = 1.0  #: |xi| or |omega| used when a sign is requested but the value is 0
BRIGHTNESS_DEEPEN = 1.3  #: factor on |xi| when a brightness word agrees with its sign

Factors = tuple[tuple[tuple[str, ...], float], ...]


@dataclass(frozen=True)
class Modifiers:
    """Everything a prompt says besides which preset it wants.

    positions: stem indices that are modifier words (they weigh less when scoring presets).
    negated: stem indices cancelled by a negation word. bpm: explicit tempo or None.
    tempo/intensity/complexity: (phrase stems, factor) pairs. brightness/direction: -1, 0, +1.
    brightness_words: (phrase stems, +1 or -1) pairs behind `brightness`.
    lock: lock_psi_tau or None. key_pc: tonic pitch class or None; mode: +1 major, -1 minor, 0.
    """

    positions: frozenset[int] = frozenset()
    negated: frozenset[int] = frozenset()
    bpm: float | None = None
    tempo: Factors = ()
    intensity: Factors = ()
    complexity: Factors = ()
    brightness: int = 0
    brightness_words: Factors = ()
    direction: int = 0
    lock: bool | None = None
    key_pc: int | None = None
    mode: int = 0


def strip_spans(normalized: str, *spans: tuple[int, int] | None) -> str:
    """`normalized` with the given character spans blanked out."""
    chars = list(normalized)
    for span in spans:
        if span is not None:
            chars[span[0]:span[1]] = " " * (span[1] - span[0])
    return "".join(chars)


def find_modifiers(normalized: str, lexicon: Lexicon) -> tuple[list[str], Modifiers]:
    """Content stems of a normalised prompt (BPM and key phrases removed) and its modifiers."""
    bpm, bpm_span = extract_bpm(normalized)
    key_pc, mode, key_span = extract_key(normalized)
    stems, negated = lexicon.tokens(strip_spans(normalized, bpm_span, key_span))
    positions: set[int] = set()
    found: dict[str, list[tuple[tuple[str, ...], Any]]] = {}
    for section, table in lexicon.modifiers.items():
        hits = []
        for start, length, value in lexicon.match(table, stems):
            span = range(start, start + length)
            if any(i in negated for i in span):
                if section != "lock":
                    continue
                value = not value  # "no drums" = the opposite of "drums"
            positions.update(span)
            hits.append((tuple(stems[start:start + length]), value))
        found[section] = hits
    return stems, Modifiers(
        positions=frozenset(positions),
        negated=negated,
        bpm=bpm,
        tempo=tuple(found["tempo"]),
        intensity=tuple(found["intensity"]),
        complexity=tuple(found["complexity"]),
        brightness=_sign(sum(v for _, v in found["brightness"])),
        brightness_words=tuple(found["brightness"]),
        direction=_sign(sum(v for _, v in found["direction"])),
        lock=found["lock"][-1][1] if found["lock"] else None,
        key_pc=key_pc,
        mode=mode,
    )


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def _factor(pairs: Factors, own: frozenset[str]) -> float:
    """Product of the factors whose phrase is not one of the preset's own words, clamped."""
    product = 1.0
    for key, factor in pairs:
        if not all(s in own for s in key):
            product *= factor
    return _clamp(product, *FACTOR_RANGE)


def _with_sign(value: float, sign: int, limit: float) -> float:
    magnitude = abs(value) if value != 0 else _FLIP_MAGNITUDE
    return _clamp(math.copysign(magnitude, sign), -limit, limit)


def apply_modifiers(params: dict[str, Any], tempo: float, mods: Modifiers,
                    own: frozenset[str]) -> tuple[dict[str, Any], float]:
    """A preset's params and tempo (BPM) nudged by `mods`; `own` = the preset's own stems."""
    out = dict(params)
    intensity = _factor(mods.intensity, own)
    out["omega"] = _clamp(out["omega"] * intensity, *OMEGA_RANGE)
    out["xi"] = _clamp(out["xi"] * intensity, *XI_RANGE)
    brightness = mods.mode or mods.brightness
    if brightness and (out["xi"] < 0) != (brightness < 0):
        out["xi"] = _with_sign(out["xi"], brightness, XI_RANGE[1])
    elif not mods.mode and any(value == brightness and not all(s in own for s in key)
                               for key, value in mods.brightness_words):
        out["xi"] = _clamp(out["xi"] * BRIGHTNESS_DEEPEN, *XI_RANGE)  # a word the preset is not
    if mods.direction and (out["omega"] < 0) != (mods.direction < 0):
        out["omega"] = _with_sign(out["omega"], mods.direction, OMEGA_RANGE[1])
    complexity = _factor(mods.complexity, own)
    if complexity != 1.0:
        n = int(_clamp(round(out["n"] * complexity), *N_RANGE))
        out["k"] = int(_clamp(round(out["k"] * n / out["n"]), *k_range(n)))
        out["n"] = n
    if mods.key_pc is not None:
        out["psi"] = psi_for_pitch_class(mods.key_pc)
    if mods.lock is not None:
        out["lock_psi_tau"] = mods.lock
    for name in ("omega", "xi", "psi"):
        out[name] = round(float(out[name]), 6) + 0.0
    if mods.bpm is not None:
        bpm = mods.bpm
    else:
        bpm = tempo * _factor(mods.tempo, own)
    return out, round(_clamp(bpm, *TEMPO_RANGE), 1)
