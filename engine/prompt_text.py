"""Text helpers for the prompt resolver: normalisation, light stemming, BPM and key extraction.

All functions are pure. ``normalize`` folds case and accents ("Café" -> "cafe") and keeps
``#`` (for "F#") and digits; ``words`` splits into word tokens; ``stem`` is a small suffix
stripper applied identically to prompts and to the preset index, so only consistency matters
(jazzy -> jaz, jazz -> jaz; chasing -> chas, chase -> chas).
"""
from __future__ import annotations

import math
import re
import unicodedata

#: Suffixes stripped by `stem`, longest first; a stem keeps at least 3 characters.
_SUFFIXES = ("iness", "ingly", "iest", "ness", "ings", "edly", "ing", "ies", "ied", "ier", "ily", "est",
             "ers", "ly", "ed", "es", "er", "s", "y", "e")
_VOWELS = set("aeiou")

_BPM_PATTERNS = (
    re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:-\s*)?(?:bpm|beats?\s*(?:per|a|/)\s*min(?:ute)?s?)\b"),
    re.compile(r"\b(?:bpm|tempo)\s*(?:of|at|=|:|is|around|about|~)?\s*(\d{1,3}(?:\.\d+)?)\b"),
)

_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTAL = {"#": 1, "sharp": 1, "b": -1, "flat": -1, "": 0}
_MODE = {"major": 1, "maj": 1, "minor": -1, "min": -1, "": 0}
_NOTE = r"([a-g])\s?(#|sharp|flat|b)?"
_KEY_PATTERNS = (
    # "in D minor", "in the key of f# major", "key: Bb", "in c"
    re.compile(r"\b(?:in\s+the\s+key\s+of|key\s+of|key|in)\s*:?\s+" + _NOTE
               + r"(?:\s?(major|minor|maj|min)\b)?(?![a-z#])"),
    # "D minor", "F# major", "Bb minor" anywhere (a mode word is required here)
    re.compile(r"\b" + _NOTE + r"\s?(major|minor|maj|min)\b"),
)


def normalize(text: str) -> str:
    """Lower-case, strip accents (NFKD), map punctuation to spaces; keep letters, digits, '#', '.'."""
    text = text.replace("\u266f", "#").replace("\u266d", "b")  # musical sharp / flat signs
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    folded = re.sub(r"[\u2010-\u2015_/\\-]+", " ", folded)  # hyphens, dashes, slashes -> space
    folded = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", folded)  # keep decimal points only
    folded = re.sub(r"[^a-z0-9#.\s]+", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def words(normalized: str) -> list[str]:
    """Word tokens of normalised text (letters and digits runs; '#' and '.' dropped)."""
    return re.findall(r"[a-z0-9]+", normalized)


def stem(word: str, forms: dict[str, str] | None = None) -> str:
    """Light stem of one lower-case word; explicit `forms` (word -> stem) take precedence."""
    if forms and word in forms:
        return forms[word]
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("y", "e", "s", "es") and not any(c in _VOWELS for c in base):
                continue
            word = base
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _VOWELS:
        word = word[:-1]  # running -> runn -> run; jazz -> jaz; chill -> chil
    return word


def extract_bpm(normalized: str) -> tuple[float | None, tuple[int, int] | None]:
    """An explicit tempo ("90 bpm", "90bpm", "tempo 90", "bpm: 140") and its character span."""
    for pattern in _BPM_PATTERNS:
        match = pattern.search(normalized)
        if match:
            value = float(match.group(1))
            if value > 0:
                return value, match.span()
    return None, None


def extract_key(normalized: str) -> tuple[int | None, int, tuple[int, int] | None]:
    """A key ("in D minor", "F# major", "key of Bb") -> (pitch class or None, mode, span).

    mode: +1 major, -1 minor, 0 unspecified. A bare "a" needs an accidental or a mode word
    ("in a minor"), so "in a forest" is not a key.
    """
    for pattern in _KEY_PATTERNS:
        for match in pattern.finditer(normalized):
            letter, accidental, mode = match.group(1), match.group(2) or "", match.group(3) or ""
            if letter == "a" and not accidental and not mode:
                continue
            pc = (_LETTER_PC[letter] + _ACCIDENTAL[accidental]) % 12
            return pc, _MODE[mode], match.span()
    return None, 0, None


def psi_for_pitch_class(pc: int) -> float:
    """The phase psi (radians, 0..2pi) whose tonic is pitch class `pc` (0 = C)."""
    return round(2.0 * math.pi * (pc % 12) / 12.0, 6)
