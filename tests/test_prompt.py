"""The prompt resolver: normalisation, stemming, modifiers, errors, determinism, precedence."""
from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, ParameterError
from engine.presets import load_presets
from engine.prompt import (
    MAX_PROMPT_CHARS,
    PromptResolution,
    resolve_prompt,
    resolver_for,
)
from engine.prompt_lexicon import load_lexicon
from engine.prompt_text import extract_bpm, extract_key, normalize, stem
from engine.resolve import resolve_request
from engine.spec import TEMPO_RANGE, validate_geometry
from engine.styles import style_catalog

CATALOG = load_presets()


def resolve(text: str) -> PromptResolution:
    return resolve_prompt(text, CATALOG)


def tonic(params: dict) -> int:
    return round(12 * params["psi"] / (2 * math.pi)) % 12


# --------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize(("raw", "expected"), [
    ("Café", "cafe"),
    ("JAZZY, late-night café!!", "jazzy late night cafe"),
    ("Crème  brûlée\tvibes", "creme brulee vibes"),
    ("lo-fi/chill_hop", "lo fi chill hop"),
    ("F♯ minor, 92.5 BPM.", "f# minor 92.5 bpm"),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_accents_and_case_do_not_change_the_result():
    assert resolve("jazzy late night café") == resolve("JAZZY LATE NIGHT CAFE") == resolve("Jazzy late-night cafe.")
    assert resolve("jazzy late night café").preset == "jazz-cafe"


@pytest.mark.parametrize(("a", "b"), [
    ("jazzy", "jazz"), ("chasing", "chase"), ("chased", "chase"), ("rainy", "rain"),
    ("spooky", "spook"), ("battles", "battle"), ("bosses", "boss"), ("dreamy", "dream"),
    ("running", "run"), ("happiest", "happy"), ("darker", "dark"),
])
def test_stemming_folds_word_forms(a, b):
    assert stem(a) == stem(b)


def test_stemmed_prompts_find_their_presets():
    assert resolve("chasing the thief").preset == "chase-scene"
    assert resolve("a rainy afternoon").preset == "rain"
    assert resolve("spooky").preset == "horror"
    assert resolve("jazzy").preset == "jazz-cafe"


# --------------------------------------------------------------------------- tempo
@pytest.mark.parametrize(("text", "bpm"), [
    ("at 90 bpm", 90), ("90bpm", 90), ("tempo 90", 90), ("bpm: 140", 140), ("tempo of 72.5", 72.5),
    ("around 100 beats per minute", 100), ("120 BPM", 120),
])
def test_bpm_extraction(text, bpm):
    assert extract_bpm(normalize(text))[0] == bpm
    assert resolve("jazz " + text).tempo == bpm


def test_no_bpm_in_other_numbers():
    assert extract_bpm(normalize("80s synthwave for 3 minutes"))[0] is None


def test_explicit_bpm_is_clamped_into_range():
    assert resolve("techno at 500 bpm").tempo == TEMPO_RANGE[1]
    assert resolve("ambient at 10 bpm").tempo == TEMPO_RANGE[0]


def test_tempo_words_scale_the_preset_tempo():
    base = CATALOG.get("jazz-cafe").tempo
    assert resolve("jazz").tempo == base
    slow, fast, frantic = (resolve(f"{w} jazz").tempo for w in ("slow", "fast", "frantic"))
    assert slow < base < fast < frantic
    assert resolve("laid-back jazz").tempo < base
    assert resolve("relaxed jazz").tempo < base


def test_explicit_bpm_beats_tempo_words():
    assert resolve("slow jazz at 150 bpm").tempo == 150


def test_tempo_word_the_preset_already_embodies_is_absorbed():
    assert resolve("upbeat corporate").tempo == CATALOG.get("corporate").tempo


# --------------------------------------------------------------------------- keys and geometry nudges
@pytest.mark.parametrize(("text", "pc", "minor"), [
    ("jazz in D minor", 2, True), ("jazz in F# major", 6, False), ("rock in the key of Bb", 10, None),
    ("corporate, A minor", 9, True), ("ambient in eb minor", 3, True), ("folk in c", 0, None),
    ("techno in G sharp minor", 8, True), ("celtic, key: E", 4, None),
])
def test_key_words_set_tonic_and_mode(text, pc, minor):
    result = resolve(text)
    assert tonic(result.params) == pc
    assert result.params["psi"] == pytest.approx(2 * math.pi * pc / 12, abs=1e-6)
    if minor is not None:
        assert (result.params["xi"] < 0) == minor


def test_a_is_not_a_key_without_a_mode():
    assert extract_key(normalize("a walk in a forest"))[0] is None
    assert resolve("in a forest").params == CATALOG.get("forest").params


def test_brightness_words_set_the_sign_of_xi():
    assert CATALOG.get("corporate").params["xi"] > 0
    assert resolve("dark corporate").params["xi"] < 0
    assert resolve("bright happy techno").params["xi"] > 0


def test_intensity_words_scale_omega_and_xi():
    rock = CATALOG.get("rock").params
    gentle = resolve("gentle rock").params
    assert abs(gentle["omega"]) < abs(rock["omega"]) and abs(gentle["xi"]) < abs(rock["xi"])
    ambient = CATALOG.get("ambient").params
    intense = resolve("intense ambient").params
    assert abs(intense["omega"]) > abs(ambient["omega"]) and abs(intense["xi"]) > abs(ambient["xi"])


def test_direction_complexity_and_lock_words():
    assert resolve("falling happy melody").params["omega"] < 0
    simple, rich = resolve("simple lofi").params, resolve("intricate lofi").params
    lofi = CATALOG.get("lofi").params
    assert simple["n"] < lofi["n"] < rich["n"]
    assert simple["k"] / simple["n"] == pytest.approx(lofi["k"] / lofi["n"], abs=0.02)
    assert resolve("techno without drums").params["lock_psi_tau"] is False
    assert resolve("calm with drums").params["lock_psi_tau"] is True


def test_negation_cancels_the_next_word():
    assert resolve("not scary, no drums").preset != "horror"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=MAX_PROMPT_CHARS).filter(lambda s: s.strip()))
def test_any_prompt_gives_valid_params_and_tempo(text):
    result = resolve(text)
    assert result.preset in CATALOG
    assert validate_geometry(dict(result.params)) == result.params
    assert TEMPO_RANGE[0] <= result.tempo <= TEMPO_RANGE[1]
    assert result.style in style_catalog()


@pytest.mark.parametrize("text", [
    "make it VERY fast, intense, dark and intricate in C# minor at 290 bpm",
    "extremely slow gentle simple falling calm minimalist ambient drone",
    "frantic frantic frantic breakneck very fast aggressive violent explosive massive",
])
def test_stacked_modifiers_stay_in_range(text):
    result = resolve(text)
    assert validate_geometry(dict(result.params)) == result.params
    assert TEMPO_RANGE[0] <= result.tempo <= TEMPO_RANGE[1]


# --------------------------------------------------------------------------- errors and determinism
@pytest.mark.parametrize("text", ["", " ", "\n\t  ", "x" * (MAX_PROMPT_CHARS + 1)])
def test_empty_blank_or_too_long_prompt_is_a_parameter_error(text):
    with pytest.raises(ParameterError) as info:
        resolve(text)
    assert info.value.field == "prompt"
    assert str(MAX_PROMPT_CHARS) in info.value.allowed


def test_prompt_of_exactly_max_length_is_fine():
    assert resolve("jazz " * (MAX_PROMPT_CHARS // 5)).preset == "jazz-cafe"


def test_unknown_words_are_deterministic_and_never_fail():
    first = resolve("xyzzy plugh frobnicate")
    assert first.preset in CATALOG
    assert first == resolve("xyzzy plugh frobnicate")
    assert first == resolve_prompt("xyzzy plugh frobnicate", load_presets())  # a fresh catalog
    assert resolve("qwertyuiop").preset == "calm"  # nothing matches: the neutral default


def test_partial_words_still_match():
    assert resolve("cinematical orchestrations").preset in {"cinematic", "epic"}


@pytest.mark.parametrize("preset", list(CATALOG), ids=CATALOG.ids())
def test_every_preset_resolves_from_its_own_name_and_id(preset):
    assert resolve(preset.name).preset == preset.id
    assert resolve(preset.id).preset == preset.id
    assert resolve(preset.name).params == preset.params
    assert resolve(preset.name).tempo == preset.tempo


def test_resolver_is_built_once_per_catalog():
    assert resolver_for(CATALOG) is resolver_for(CATALOG)


def test_resolve_time_is_measured():
    prompts = ["jazzy late night café in F# minor at 90 bpm", "boss fight in a volcano",
               "music for a rainy study session", "xyzzy", "slow dark intricate techno without drums"]
    resolve(prompts[0])  # build the index first
    start = time.perf_counter()
    rounds = 200
    for _ in range(rounds):
        for text in prompts:
            resolve(text)
    per_prompt = (time.perf_counter() - start) / (rounds * len(prompts))
    print(f"resolve_prompt: {per_prompt * 1e6:.1f} us per prompt")  # budget 1 ms; not asserted


# --------------------------------------------------------------------------- API.md Part B precedence
def test_explicit_tempo_wins_over_the_prompt():
    spec = resolve_request(catalog=CATALOG, prompt="slow jazz at 70 bpm", tempo=133)
    assert spec.tempo == 133 and spec.preset == "jazz-cafe"


def test_prompt_implied_tempo_is_used_when_tempo_is_omitted():
    assert resolve_request(catalog=CATALOG, prompt="jazz at 84 bpm").tempo == 84
    assert resolve_request(catalog=CATALOG, prompt="frantic chase").tempo == resolve("frantic chase").tempo
    assert resolve_request(catalog=CATALOG, prompt="boss battle").tempo == CATALOG.get("boss-battle").tempo


def test_params_alone_default_to_120_bpm():
    assert resolve_request(catalog=CATALOG, params={"n": 24}).tempo == 120


def test_prompt_with_params_overrides_geometry_only():
    spec = resolve_request(catalog=CATALOG, prompt="horror", params={"omega": 3.0})
    horror = CATALOG.get("horror")
    assert spec.omega == 3.0 and spec.n == horror.params["n"] and spec.tempo == horror.tempo
    assert spec.preset == "horror"


# --------------------------------------------------------------------------- the lexicon file
@pytest.mark.parametrize("body", [
    "stopwords: [a, no]\n",  # YAML reads `no` as false: must be quoted
    "synonyms:\n  not scary: [horror]\n",  # a negation inside a phrase can never match
    "synonyms:\n  the: [horror]\n",  # nothing but stopwords
    "synonyms:\n  spooky: 3\n",
    "tempo:\n  slow: fast\n",
    "lock:\n  drums: 1\n",
    "tempo:\n  slow: 0.7\n  slowly: 0.8\n",  # two phrases with one stem and different values
])
def test_a_malformed_lexicon_fails_at_load(tmp_path, body):
    path = tmp_path / "lexicon.yaml"
    path.write_text('stopwords: [the]\nnegations: [not, "no"]\n' + body if "stopwords" not in body else body)
    with pytest.raises(EngineError, match="lexicon"):
        load_lexicon(path)


def test_the_shipped_lexicon_targets_real_presets_or_index_words():
    resolver = resolver_for(CATALOG)
    for key, targets in resolver.lexicon.synonyms.items():
        for target in targets:
            known = target in CATALOG or all(s in resolver.terms for s in resolver.lexicon.key(target))
            assert known, (key, target)


# --------------------------------------------------------------------------- styles
STYLES = style_catalog()


@pytest.mark.parametrize(("text", "style"), [
    ("dark techno", "techno"), ("sad piano ballad", "piano-ballad"), ("happy jazz", "jazz"),
    ("jazzy late night café", "jazz"), ("chill lofi beats", "lofi"), ("epic trailer", "epic"),
    ("80s synthwave", "synthwave"), ("uplifting trance", "trance"), ("lo-fi hip hop", "lofi"),
    ("drum and bass for a chase", "drum-and-bass"), ("Bossa Nova", "bossa-nova"), ("Celtic Jig", "celtic"),
])
def test_style_words_pick_the_style(text, style):
    assert resolve(text).style == style


def test_dark_techno_is_the_techno_preset_nudged_dark():
    techno, dark = CATALOG.get("techno"), resolve("dark techno")
    assert dark.preset == "techno" and dark.style == "techno" == techno.style
    assert dark.params["xi"] < techno.params["xi"] < 0  # darker still: minor, deeper
    assert {k: v for k, v in dark.params.items() if k != "xi"} == {k: v for k, v in techno.params.items() if k != "xi"}
    assert dark.tempo == techno.tempo


def test_sad_piano_ballad_is_slow_minor_piano():
    result = resolve("sad piano ballad")
    lo = STYLES.get("piano-ballad").tempo[0]
    assert result.style == "piano-ballad" and result.params["xi"] < 0
    assert lo <= result.tempo <= 70  # slow
    assert STYLES.get("piano-ballad").instruments["melody"] == 0  # a piano plays the tune


def test_happy_jazz_is_jazz_nudged_bright():
    jazz, happy = resolve("jazz"), resolve("happy jazz")
    assert happy.style == jazz.style == "jazz"
    assert happy.params["xi"] > jazz.params["xi"] > 0


def test_a_mood_word_the_preset_embodies_does_not_deepen():
    assert resolve("sad").params == CATALOG.get("sad").params
    assert resolve("dark ambient drone").params["xi"] < 0


def test_the_words_style_beats_the_matched_presets_and_clamps_the_tempo():
    tense = resolve("tense jazz")
    assert tense.preset == "tense" and tense.style == "jazz"
    assert tense.params == CATALOG.get("tense").params
    lo, hi = STYLES.get("jazz").tempo
    assert lo <= tense.tempo <= hi
    rainy = resolve("rainy day jazz")  # rain is 70 BPM; jazz is played at 90..180
    assert rainy.preset == "rain" and rainy.style == "jazz" and rainy.tempo == lo
    chase = resolve("chase scene reggae")  # 168 BPM; reggae is played at 66..90
    assert chase.preset == "chase-scene" and chase.style == "reggae"
    assert chase.tempo == STYLES.get("reggae").tempo[1]
    assert resolve("rainy day jazz at 72 bpm").tempo == 72  # a named BPM is never clamped
    assert resolve("chase scene reggae at 170 bpm").tempo == 170


def test_without_a_style_word_the_presets_style_is_used():
    for text in ("tense chase scene", "music for a rainy study session", "boss fight in a volcano"):
        result = resolve(text)
        assert result.style == CATALOG.get(result.preset).style


@pytest.mark.parametrize(("text", "style"), [
    ("something spooky for a haunted house level", "suspense"),  # no house music
    ("classical piano", "classical"),  # the preset's style, when named, beats the others
    ("jazz piano", "jazz"),  # else the first style named
    ("calm, no jazz", "ambient"),  # a negated style word names nothing
    ("free jazz", "experimental"),
])
def test_style_word_edge_cases(text, style):
    assert resolve(text).style == style


def test_every_style_is_found_by_its_id_and_name():
    resolver = resolver_for(CATALOG)
    for style in STYLES:
        for text in (style.id, style.name):
            assert resolver.named_styles(resolver._stems(text)) == [style.id], text


def test_lexicon_style_phrases_name_real_styles(tmp_path):
    assert set(resolver_for(CATALOG).lexicon.styles.values()) - {""} <= set(STYLES.ids())
    path = tmp_path / "lexicon.yaml"
    path.write_text('stopwords: [the]\nnegations: [not]\nstyles:\n  polka: polka\n')
    with pytest.raises(EngineError, match="style"):
        load_lexicon(path)


# --------------------------------------------------------------------------- style precedence
def test_style_precedence_explicit_then_words_then_preset_then_geometry():
    assert resolve_request(catalog=CATALOG, prompt="tense jazz", style="metal").style_id == "metal"
    assert resolve_request(catalog=CATALOG, prompt="tense jazz").style_id == "jazz"
    assert resolve_request(catalog=CATALOG, prompt="tense").style_id == "suspense"
    assert resolve_request(catalog=CATALOG, preset="lofi").style_id == "lofi"
    assert resolve_request(catalog=CATALOG, preset="lofi", style="jazz").style_id == "jazz"
    direct = resolve_request(catalog=CATALOG, params={"n": 24, "omega": 0.5, "lock_psi_tau": False})
    assert direct.style is None and direct.style_id == "ambient"
    assert resolve_request(catalog=CATALOG, params={"n": 24, "omega": 2.5, "xi": 1.8}).style_id == "house"
    assert resolve_request(catalog=CATALOG, params={"n": 24}, style="reggae").style_id == "reggae"


def test_explicit_style_changes_the_idiom_not_the_tempo_or_geometry():
    plain = resolve_request(catalog=CATALOG, prompt="calm")
    styled = resolve_request(catalog=CATALOG, prompt="calm", style="techno")
    assert styled.tempo == plain.tempo and styled.params == plain.params and styled.id != plain.id


def test_unknown_explicit_style_names_the_field_and_the_ids():
    with pytest.raises(ParameterError) as info:
        resolve_request(catalog=CATALOG, prompt="calm", style="polka")
    assert info.value.field == "style" and "jazz" in str(info.value) and "polka" in str(info.value)
