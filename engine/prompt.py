"""Prompt resolver: free text ("jazzy late night café at 90 bpm") -> preset, geometry, tempo.

Small, instant and deterministic: no model, no network. The text is normalised and lightly
stemmed (engine.prompt_text), expanded with the curated synonym lexicon
(engine/data/lexicon.yaml), and scored against every preset's id, name, tags and description
with tf-idf-like weights and a phrase bonus; ties go to the earlier preset in file order.
Modifier words then nudge the chosen preset (engine.prompt_modifiers): an explicit BPM beats
tempo words, which beat the preset's tempo; intensity, brightness, direction, complexity and
key words ("in D minor") adjust the geometry, always clamped into the valid ranges.

Style words (a style's id or name, or a `styles` phrase of the lexicon: "jazzy", "lo-fi",
"piano ballad") pick the style the piece plays in: "dark techno" is the techno preset in the
techno style, nudged dark; "tense jazz" is the tense preset's geometry in the jazz style. The
preset is still matched from the whole prompt. When several styles are named, the matched
preset's wins if it is among them, else the first named. A named style that differs from the
preset's clamps the tempo into the style's range, unless the prompt names a BPM. Without a
style word the preset's style is used.

The index is built once per catalog and cached on it (``catalog.cache``).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from engine.errors import ParameterError
from engine.presets import PresetCatalog
from engine.prompt_lexicon import NOT_A_STYLE, Lexicon, Table, load_lexicon
from engine.prompt_modifiers import Modifiers, apply_modifiers, find_modifiers
from engine.prompt_text import normalize
from engine.spec import TEMPO_RANGE
from engine.styles import style_catalog

MAX_PROMPT_CHARS = 500
DEFAULT_PRESET = "calm"  #: chosen when no word of the prompt matches anything
_CACHE_KEY = "engine.prompt.Resolver"

#: Field weights of the index: how strongly a word in that field ties a prompt to a preset.
#: A word of a multi-word id/name/tag counts less ("main" of "Main Menu"); the whole phrase more.
_W_ID, _W_NAME, _W_TAG, _W_DESC = 3.0, 3.0, 2.5, 0.5
_W_NAME_PART, _W_TAG_PART = 1.5, 1.2
_W_PHRASE = 3.0  #: a multi-word tag/name found contiguous in the prompt, on top of its words
_W_DIRECT = 3.5  #: a lexicon entry naming a preset id outright (times the largest idf)
_Q_MODIFIER = 0.4  #: query weight of modifier words (slow, dark, ...): they nudge, rarely pick
_Q_PREFIX = 0.5  #: query weight of a prefix match for an otherwise unknown word
_MAX_NGRAM = 4
#: Moods are often adjectives on a scene or genre ("tense chase", "happy corporate"): the noun wins.
_FAMILY_WEIGHT = {"mood": 0.85}


@dataclass(frozen=True)
class PromptResolution:
    """What a prompt resolved to.

    preset: matched preset id. params: full geometry (the preset's params nudged by modifier
    words, every field within its range). tempo: BPM the prompt names or implies
    (explicit "90 bpm" > tempo words applied to the preset tempo > the preset tempo; clamped
    into a named style's tempo range when that style is not the preset's and no BPM is named).
    style: the style id the words name, else the matched preset's style.
    """

    preset: str | None
    params: dict[str, Any]
    tempo: float | None
    style: str | None = None


class Resolver:
    """Scores prompts against one catalog; build once, call `resolve` many times."""

    def __init__(self, catalog: PresetCatalog, lexicon: Lexicon | None = None):
        self.catalog = catalog
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.presets = list(catalog)
        self._index_ids = {p.id: i for i, p in enumerate(self.presets)}
        terms: dict[str, dict[int, float]] = defaultdict(dict)
        phrases: dict[tuple[str, ...], dict[int, float]] = defaultdict(dict)
        self.own_stems: list[frozenset[str]] = []
        for i, preset in enumerate(self.presets):
            fields = [(preset.id.replace("-", " "), _W_ID), (preset.name, _W_NAME)]
            fields += [(tag, _W_TAG) for tag in preset.tags]
            for text, weight in fields:
                stems = self._stems(text)
                if len(stems) > 1:
                    phrases[tuple(stems)][i] = max(phrases[tuple(stems)].get(i, 0.0), _W_PHRASE)
                    weight = _W_TAG_PART if weight == _W_TAG else _W_NAME_PART
                for s in stems:
                    terms[s][i] = max(terms[s].get(i, 0.0), weight)
            for s in self._stems(preset.description):
                terms[s][i] = max(terms[s].get(i, 0.0), _W_DESC)
            self.own_stems.append(frozenset(s for text, _ in fields for s in self._stems(text)))
        count = len(self.presets)
        self.terms = {t: (math.log(1.0 + count / len(ws)), ws) for t, ws in terms.items()}
        self.phrases = {p: (math.log(1.0 + count / len(ws)), ws) for p, ws in phrases.items()}
        self._max_idf = math.log(1.0 + count)
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        for term in sorted(self.terms):
            if len(term) >= 5:
                self._by_prefix[term[:5]].append(term)
        self.family_weight = [_FAMILY_WEIGHT.get(p.family, 1.0) for p in self.presets]
        default = DEFAULT_PRESET if DEFAULT_PRESET in self._index_ids else self.presets[0].id
        self.default_index = self._index_ids[default]
        self.styles = style_catalog()
        self.style_words: Table = {}
        for style in self.styles:
            for text in (style.id.replace("-", " "), style.name):
                self.style_words.setdefault(tuple(self._stems(text)), style.id)
        self.style_words.update(self.lexicon.styles)
        self.style_words.pop((), None)
        self._style_len = max(map(len, self.style_words), default=1)

    def _stems(self, text: str) -> list[str]:
        return self.lexicon.tokens(normalize(text))[0]

    def scores(self, stems: list[str], modifiers: Modifiers) -> list[float]:
        """Score of every preset (file order) for a prompt's stems."""
        query: dict[str, float] = {}
        direct: dict[int, float] = {}
        for idx, s in enumerate(stems):
            if idx in modifiers.negated:
                continue
            weight = _Q_MODIFIER if idx in modifiers.positions else 1.0
            query[s] = max(query.get(s, 0.0), weight)
        for start, length, targets in self.lexicon.match_synonyms(stems):
            if any(start + j in modifiers.negated for j in range(length)):
                continue
            for target in targets:
                if target in self._index_ids:
                    i = self._index_ids[target]
                    direct[i] = max(direct.get(i, 0.0), _W_DIRECT * self._max_idf)
                else:
                    for s in self._stems(target):
                        query[s] = max(query.get(s, 0.0), 1.0)
                    expanded = tuple(self._stems(target))
                    if len(expanded) > 1 and expanded in self.phrases:
                        self._add_phrase(direct, expanded)
        total = [0.0] * len(self.presets)
        for term, qweight in query.items():
            entry = self.terms.get(term)
            if entry is None:
                for near in self._by_prefix.get(term[:5], ()) if len(term) >= 5 else ():
                    idf, weights = self.terms[near]
                    for i, w in weights.items():
                        total[i] += _Q_PREFIX * idf * w
                continue
            idf, weights = entry
            for i, w in weights.items():
                total[i] += qweight * idf * w
        for n in range(2, _MAX_NGRAM + 1):
            for start in range(len(stems) - n + 1):
                gram = tuple(stems[start:start + n])
                if gram in self.phrases:
                    self._add_phrase(direct, gram)
        for i, bonus in direct.items():
            total[i] += bonus
        return [t * self.family_weight[i] for i, t in enumerate(total)]

    def _add_phrase(self, bonus: dict[int, float], gram: tuple[str, ...]) -> None:
        idf, weights = self.phrases[gram]
        for i, w in weights.items():
            bonus[i] = bonus.get(i, 0.0) + idf * w

    def named_styles(self, stems: list[str], negated: frozenset[int] = frozenset()) -> list[str]:
        """Style ids the stems name, in order of first mention ("no jazz" names none)."""
        named: list[str] = []
        for start, length, style_id in self.lexicon.match(self.style_words, stems, self._style_len):
            if style_id != NOT_A_STYLE and style_id not in named \
                    and not any(start + j in negated for j in range(length)):
                named.append(style_id)
        return named

    def resolve(self, text: str) -> PromptResolution:
        """Resolve one (already length-checked) prompt."""
        stems, modifiers = find_modifiers(normalize(text), self.lexicon)
        total = self.scores(stems, modifiers)
        best = max(range(len(total)), key=lambda i: (total[i], -i))
        if total[best] <= 0.0:
            best = self.default_index
        preset = self.presets[best]
        params, tempo = apply_modifiers(preset.params, preset.tempo, modifiers, self.own_stems[best])
        named = self.named_styles(stems, modifiers.negated)
        style = preset.style if not named or preset.style in named else named[0]
        if style != preset.style and modifiers.bpm is None:
            lo, hi = self.styles.get(style).tempo
            tempo = round(min(max(tempo, lo, TEMPO_RANGE[0]), hi, TEMPO_RANGE[1]), 1)
        return PromptResolution(preset=preset.id, params=params, tempo=tempo, style=style)


def resolver_for(catalog: PresetCatalog) -> Resolver:
    """The catalog's resolver, built on first use and cached on the catalog instance."""
    resolver = catalog.cache.get(_CACHE_KEY)
    if resolver is None:
        resolver = Resolver(catalog)
        catalog.cache[_CACHE_KEY] = resolver
    return resolver


def check_prompt(text: Any) -> str:
    """Return `text` if it is a non-empty string of at most MAX_PROMPT_CHARS, else ParameterError."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_PROMPT_CHARS:
        raise ParameterError("prompt", f"a non-empty string of at most {MAX_PROMPT_CHARS} characters")
    return text


def resolve_prompt(text: str, catalog: PresetCatalog) -> PromptResolution:
    """Resolve free text to a preset id, full geometry params and a tempo (BPM).

    Raises ParameterError("prompt", ...) for an empty, whitespace-only or over-long prompt;
    any other text gives a deterministic result (the best match, else the default preset).
    """
    return resolver_for(catalog).resolve(check_prompt(text))
