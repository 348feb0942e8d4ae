"""Keys by name: "D minor", "F#", "Bb major", "C# dorian", "eb minor" -> tonic and mode.

A key overrides the geometry's tonic (psi) and its mode sign (xi): the tonic is the named pitch
class, the mode major, minor or one of the church modes. In the diatonic family the church
modes are the diatonic scale rotated (dorian, phrygian, lydian, mixolydian); in the other
families a key picks only the tonic and whether the family's major-like or minor-like form plays.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from engine.errors import ParameterError

#: mode -> (scale, minor-like, semitones from the parent major's tonic up to this tonic)
MODES: dict[str, tuple[tuple[int, ...], bool, int]] = {
    "major": ((0, 2, 4, 5, 7, 9, 11), False, 0),
    "minor": ((0, 2, 3, 5, 7, 8, 10), True, 9),
    "dorian": ((0, 2, 3, 5, 7, 9, 10), True, 2),
    "phrygian": ((0, 1, 3, 5, 7, 8, 10), True, 4),
    "lydian": ((0, 2, 4, 6, 7, 9, 11), False, 5),
    "mixolydian": ((0, 2, 4, 5, 7, 9, 10), False, 7),
}
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTERS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
_ALIASES = {"maj": "major", "min": "minor", "m": "minor", "ionian": "major", "aeolian": "minor"}
_PATTERN = re.compile(r" *([a-gA-G])([#♯b♭]?) *([a-zA-Z]*) *")
def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


#: The same grammar as an ECMA-262 regex (for the OpenAPI document): a letter, an accidental,
#: spaces, an optional mode word in any case.
KEY_PATTERN = ("^ *[A-Ga-g][#♯b♭]? *(" + "|".join(_any_case(w) for w in sorted([*MODES, *_ALIASES], key=len,
                                                                                reverse=True)) + ")? *$")
ALLOWED = 'a key like "D minor", "F#", "Bb major" or "C# dorian" (modes: ' + ", ".join(MODES) + ")"


@dataclass(frozen=True)
class Key:
    """tonic: pitch class 0..11 (0 = C). mode: one of MODES."""

    tonic: int
    mode: str

    @property
    def name(self) -> str:
        """Canonical spelling, e.g. "D minor", "F# major", "Eb dorian"."""
        return f"{NAMES[self.tonic]} {self.mode}"

    @property
    def minor(self) -> bool:
        return MODES[self.mode][1]

    @property
    def psi(self) -> float:
        """The phase that names this tonic: 2 pi tonic / 12, rounded to 6 places."""
        return round(2.0 * math.pi * self.tonic / 12.0, 6)

    @property
    def midi_key_number(self) -> int:
        """pretty_midi's key number for the key signature: 0..11 major, 12..23 minor; a church
        mode is written as its parent major's signature."""
        if self.mode == "minor":
            return 12 + self.tonic
        return (self.tonic - MODES[self.mode][2]) % 12


def parse_key(text: object) -> Key:
    """A Key from its name (case-insensitive, # or b accidentals, the mode optional: major);
    raises ParameterError('key', ...) when it is not one."""
    match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    mode = _ALIASES.get(match.group(3).lower(), match.group(3).lower()) if match else ""
    if not match or (mode and mode not in MODES):
        raise ParameterError("key", ALLOWED)
    tonic = (_LETTERS[match.group(1).lower()] + _ACCIDENTALS[match.group(2)]) % 12
    return Key(tonic, mode or "major")


def key_of(tonic: int, minor: bool) -> Key:
    """The key a geometry implies when no key is named."""
    return Key(tonic % 12, "minor" if minor else "major")
