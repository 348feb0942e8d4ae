"""The curated synonym lexicon (engine/data/lexicon.yaml), loaded into stemmed lookup tables.

The lexicon is data, not code. Sections:
  stopwords   words ignored when scoring ("music", "for", "the", ...)
  forms       explicit stems for irregular words (word -> stem), used before the suffix stripper
  synonyms    phrase -> list of targets: preset ids (a direct vote) or words (added to the query)
  tempo       phrase -> factor on the preset tempo (slow 0.75, frantic 1.5)
  intensity   phrase -> factor on |omega| and |xi| (gentle 0.6, intense 1.5)
  brightness  phrase -> +1 (major-like, xi >= 0) or -1 (minor-like, xi < 0)
  direction   phrase -> +1 (rising contour, omega > 0) or -1 (falling, omega < 0)
  complexity  phrase -> factor on n with k/n kept (simple 0.5, intricate 2)
  lock        phrase -> lock_psi_tau (true: grid and drums; false: free, no drums)
  styles      phrase -> style id (engine/data/styles.yaml) the words name, beside each style's
              own id and name; null marks a phrase that only looks like one ("haunted house")
  negations   words that cancel the next content word ("not scary", "no drums")
Every phrase is normalised and stemmed exactly like a prompt, so matching is on stems.
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.errors import EngineError
from engine.prompt_text import normalize, stem, words
from engine.styles import style_catalog

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  #: libyaml when available (5-10x faster)

NOT_A_STYLE = ""  #: value of a `styles` phrase that names no style (YAML null)
_MODIFIER_SECTIONS = ("tempo", "intensity", "brightness", "direction", "complexity", "lock")
Table = dict[tuple[str, ...], Any]


def default_lexicon_path() -> pathlib.Path:
    """engine/data/lexicon.yaml next to this module."""
    return pathlib.Path(__file__).resolve().parent / "data" / "lexicon.yaml"


@dataclass(frozen=True)
class Lexicon:
    """Stemmed lookup tables; keys are tuples of stems (one per word of the phrase)."""

    stopwords: frozenset[str]
    forms: dict[str, str]
    negations: frozenset[str]
    synonyms: Table
    modifiers: dict[str, Table]
    max_len: int
    styles: Table = field(default_factory=dict)  #: phrase -> style id, or NOT_A_STYLE

    def key(self, phrase: str) -> tuple[str, ...]:
        """The stem tuple of a phrase, as prompts are processed."""
        return tuple(self.tokens(normalize(phrase))[0])

    def tokens(self, normalized: str) -> tuple[list[str], frozenset[int]]:
        """Content stems of normalised text and the indices a negation word cancels.

        Stopwords, negation words and single letters are dropped; "not scary" gives
        stems ["scar"] with index 0 negated.
        """
        stems: list[str] = []
        negated: set[int] = set()
        pending = False
        for word in words(normalized):
            if word in self.negations:
                pending = True
            elif word in self.stopwords or (len(word) == 1 and not word.isdigit()):
                continue
            else:
                if pending:
                    negated.add(len(stems))
                    pending = False
                stems.append(stem(word, self.forms))
        return stems, frozenset(negated)

    def match(self, table: Table, stems: list[str], max_len: int | None = None) -> list[tuple[int, int, Any]]:
        """(start, length, value) of the phrases of `table` in `stems`, longest first, no overlaps.

        "very fast" is one match (not "very fast" and "fast"); "boss fight" beats "fight".
        max_len: the longest phrase of `table` in words (default: the lexicon's).
        """
        found = []
        start = 0
        longest = self.max_len if max_len is None else max_len
        while start < len(stems):
            for length in range(min(longest, len(stems) - start), 0, -1):
                value = table.get(tuple(stems[start:start + length]))
                if value is not None:
                    found.append((start, length, value))
                    start += length
                    break
            else:
                start += 1
        return found

    def match_synonyms(self, stems: list[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        """Synonym matches: (start, length, targets)."""
        return self.match(self.synonyms, stems)


def _error(path: os.PathLike[str] | str, message: str) -> EngineError:
    return EngineError(f"lexicon {path}: {message}")


def load_lexicon(path: str | os.PathLike[str] | None = None) -> Lexicon:
    """Load and check the lexicon YAML (default: `default_lexicon_path()`)."""
    path = pathlib.Path(path) if path is not None else default_lexicon_path()
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_LOADER) or {}
    if not isinstance(data, dict):
        raise _error(path, "expected a mapping of sections")
    for section in ("stopwords", "negations"):
        if not all(isinstance(w, str) for w in data.get(section) or []):
            raise _error(path, f"every {section} entry must be a string (quote YAML's no/on/off)")
    stopwords = frozenset(normalize(w) for w in data.get("stopwords") or [])
    forms = {normalize(str(k)): normalize(str(v)) for k, v in (data.get("forms") or {}).items()}
    negations = frozenset(normalize(w) for w in data.get("negations") or [])
    bare = Lexicon(stopwords, forms, negations, {}, {}, 1)
    synonyms: Table = {}
    max_len = 1
    for phrase, targets in (data.get("synonyms") or {}).items():
        key = bare.key(str(phrase))
        if not key:
            raise _error(path, f"synonym '{phrase}' has no content words")
        if negations & set(words(normalize(str(phrase)))):
            raise _error(path, f"synonym '{phrase}' contains a negation word")
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise _error(path, f"synonym '{phrase}' must map to a list of strings")
        merged = synonyms.get(key, ()) + tuple(t for t in targets)
        synonyms[key] = tuple(dict.fromkeys(merged))
        max_len = max(max_len, len(key))
    modifiers: dict[str, Table] = {}
    for section in _MODIFIER_SECTIONS:
        table: Table = {}
        for phrase, value in (data.get(section) or {}).items():
            key = bare.key(str(phrase))
            if not key:
                raise _error(path, f"{section} phrase '{phrase}' has no content words")
            if section == "lock" and not isinstance(value, bool):
                raise _error(path, f"lock phrase '{phrase}' must map to true or false")
            if section != "lock" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise _error(path, f"{section} phrase '{phrase}' must map to a number")
            if key in table and table[key] != value:
                raise _error(path, f"{section} phrase '{phrase}' stems like another with a different value")
            table[key] = value
            max_len = max(max_len, len(key))
        modifiers[section] = table
    styles: Table = {}
    known = set(style_catalog().ids())
    for phrase, target in (data.get("styles") or {}).items():
        key = bare.key(str(phrase))
        if not key:
            raise _error(path, f"style phrase '{phrase}' has no content words")
        if target is not None and target not in known:
            raise _error(path, f"style phrase '{phrase}' must map to a style id or null, not {target!r}")
        styles[key] = NOT_A_STYLE if target is None else target
        max_len = max(max_len, len(key))
    return Lexicon(stopwords, forms, negations, synonyms, modifiers, max_len, styles)
