"""The preset catalogue: presets.yaml loads, validates like a request, and stays distinct."""
from __future__ import annotations

import io
import itertools
import math
import re

import musicanalysis as ma
import numpy as np
import pytest
import soundfile

from engine.errors import PresetFileError, UnknownPresetError
from engine.presets import (
    FAMILIES,
    Preset,
    PresetCatalog,
    default_presets_path,
    load_presets,
)
from engine.spec import GEOMETRY_FIELDS, TEMPO_RANGE, RenderSpec, validate_geometry

CATALOG = load_presets()
#: Minimum feature distance between any two presets (see `param_distance`); measured 0.58.
MIN_PARAM_DISTANCE = 0.45


def test_default_path_is_the_repo_file():
    assert default_presets_path().name == "presets.yaml"
    assert default_presets_path().is_file()


def test_at_least_64_presets_in_four_families():
    assert len(CATALOG) >= 64
    families = {p.family for p in CATALOG}
    assert families == set(FAMILIES)
    for family in FAMILIES:
        assert sum(p.family == family for p in CATALOG) >= 8, family


def test_ids_are_unique_slugs_in_file_order():
    ids = CATALOG.ids()
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)
    assert [p.id for p in CATALOG] == ids


@pytest.mark.parametrize("preset", list(CATALOG), ids=CATALOG.ids())
def test_every_preset_validates_like_a_request(preset: Preset):
    assert len(set(preset.tags)) >= 5
    assert preset.name.strip() and preset.description.strip()
    assert preset.family in FAMILIES
    assert list(preset.params) == list(GEOMETRY_FIELDS)
    assert validate_geometry(dict(preset.params)) == preset.params
    assert TEMPO_RANGE[0] <= preset.tempo <= TEMPO_RANGE[1]
    spec = RenderSpec(**preset.params, tempo=preset.tempo, preset=preset.id)
    assert spec.params == pytest.approx(preset.params)


def test_calm_matches_the_api_example():
    calm = CATALOG.get("calm")
    assert calm.name == "Calm"
    assert calm.description.startswith("Gentle, meditative tones")
    assert {"peaceful", "meditation", "ambient"} <= set(calm.tags)


def test_to_dict_is_json_shaped():
    data = CATALOG.get("chase-scene").to_dict()
    assert set(data) == {"id", "name", "description", "tags", "family", "style", "params", "tempo"}
    assert isinstance(data["tags"], list) and isinstance(data["tempo"], float)
    assert set(data["params"]) == set(GEOMETRY_FIELDS)


def test_unknown_preset_raises():
    with pytest.raises(UnknownPresetError) as info:
        CATALOG.get("no-such-preset")
    assert "no-such-preset" in str(info.value)


def test_duplicate_ids_are_rejected():
    calm = CATALOG.get("calm")
    with pytest.raises(PresetFileError, match="calm"):
        PresetCatalog([calm, calm])


GOOD = """\
  - id: good-one
    name: Good One
    description: Fine.
    tags: [a, b, c, d, e]
    family: mood
    style: pop
    params: {n: 24, k: 10, omega: 1.0, xi: 1.0, psi: 0.0, lock_psi_tau: true}
    tempo: 100
"""


def _write(tmp_path, body: str):
    path = tmp_path / "presets.yaml"
    path.write_text("presets:\n" + GOOD + body)
    return path


@pytest.mark.parametrize(("change", "field"), [
    ("    params: {n: 24, k: 13, omega: 1.0, xi: 1.0, psi: 0.0, lock_psi_tau: true}", "params.k"),
    ("    params: {n: 24, k: 10, omega: 11, xi: 1.0, psi: 0.0, lock_psi_tau: true}", "params.omega"),
    ("    params: {n: 24, k: 10, omega: 1.0, xi: 1.0, psi: 7, lock_psi_tau: true}", "params.psi"),
    ("    params: {n: 1, k: 1, omega: 1.0, xi: 1.0, psi: 0.0, lock_psi_tau: true}", "params.n"),
    ("    params: {n: 24, k: 10, omega: 1.0, xi: 1.0, psi: 0.0}", "params.lock_psi_tau"),
    ("    params: {n: 24, k: 10, omega: 1.0, xi: 1.0, psi: 0.0, lock_psi_tau: yes please}",
     "params.lock_psi_tau"),
    ("    params: {n: 24, k: 10, omega: 1, xi: 1, psi: 0, lock_psi_tau: true, zeta: 2}", "params.zeta"),
    ("    tempo: 400", "tempo"),
    ("    tempo: fast", "tempo"),
    ("    tags: [one, two, three, four]", "tags"),
    ("    family: vibes", "family"),
    ("    description: ''", "description"),
])
def test_a_malformed_preset_names_the_preset_and_field(tmp_path, change, field):
    key = change.split(":")[0]
    bad = GOOD.replace("good-one", "broken-one")
    bad = "\n".join(change if line.startswith(key + ":") else line for line in bad.splitlines())
    with pytest.raises(PresetFileError) as info:
        load_presets(_write(tmp_path, bad + "\n"))
    message = str(info.value)
    assert "broken-one" in message and f"'{field}'" in message, message


@pytest.mark.parametrize("body", [
    ("  - id: Not A Slug\n    name: x\n    description: x\n    tags: [a, b, c, d, e]\n"
    "    family: mood\n    params: {n: 24, k: 10, omega: 1, xi: 1, psi: 0, lock_psi_tau: true}\n"
    "    tempo: 90\n"),
    ("  - id: no-name\n    description: x\n    tags: [a, b, c, d, e]\n    family: mood\n"
    "    params: {n: 24, k: 10, omega: 1, xi: 1, psi: 0, lock_psi_tau: true}\n    tempo: 90\n"),
    "  - just a string\n",
    GOOD,  # a duplicate id
])
def test_other_malformed_files_fail_loudly(tmp_path, body):
    with pytest.raises(PresetFileError, match="preset"):
        load_presets(_write(tmp_path, body))


def test_unreadable_or_invalid_yaml_files(tmp_path):
    with pytest.raises(PresetFileError):
        load_presets(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("presets: [unclosed")
    with pytest.raises(PresetFileError):
        load_presets(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("presets: []\n")
    with pytest.raises(PresetFileError):
        load_presets(empty)


def param_features(preset: Preset) -> dict[str, float]:
    """What a listener hears, predicted from the geometry: tonic, scale, motion, brightness, pulse."""
    p = preset.params
    return {
        "tonic": round(12 * p["psi"] / (2 * math.pi)) % 12,
        "generator": 12 * p["k"] / p["n"],  # semitones: 5 diatonic, 3 octatonic, 2 whole-tone...
        "log_n": math.log2(p["n"]),
        "omega": p["omega"],
        "xi": p["xi"],
        "lock": float(p["lock_psi_tau"]),
        "log_tempo": math.log2(preset.tempo),
        "style": preset.style,
    }


def param_distance(a: Preset, b: Preset) -> float:
    """Euclidean distance over scaled features; 1.0 ~ one clearly audible difference."""
    fa, fb = param_features(a), param_features(b)
    tonic = min((fa["tonic"] - fb["tonic"]) % 12, (fb["tonic"] - fa["tonic"]) % 12) / 6
    terms = (
        tonic,
        abs(fa["generator"] - fb["generator"]) / 4,  # 6 semitones of generator -> 1.5
        abs(fa["log_n"] - fb["log_n"]) / 4,
        abs(fa["omega"] - fb["omega"]) / 6,
        abs(fa["xi"] - fb["xi"]) / 8,
        1.5 * abs(fa["lock"] - fb["lock"]),
        abs(fa["log_tempo"] - fb["log_tempo"]) / 0.5,  # a tempo ratio of sqrt(2) -> 1
        1.0 * (fa["style"] != fb["style"]),  # another idiom: instruments, groove, form
    )
    return math.sqrt(sum(t * t for t in terms))


def test_no_two_presets_are_near_duplicates_by_geometry():
    pairs = sorted((param_distance(a, b), a.id, b.id) for a, b in itertools.combinations(CATALOG, 2))
    print("nearest preset pairs by geometry:", ", ".join(f"{a}/{b} {d:.3f}" for d, a, b in pairs[:5]))
    assert pairs[0][0] >= MIN_PARAM_DISTANCE, pairs[:5]


def test_presets_cover_the_parameter_space():
    features = [param_features(p) for p in CATALOG]
    assert len({f["tonic"] for f in features}) == 12
    assert {round(f["generator"]) for f in features} >= {0, 1, 2, 3, 4, 5, 6}
    assert any(f["omega"] < 0 for f in features) and any(f["omega"] > 5 for f in features)
    assert sum(f["xi"] < 0 for f in features) >= len(features) // 4
    assert 0.3 <= sum(f["lock"] for f in features) / len(features) <= 0.8
    tempos = [p.tempo for p in CATALOG]
    assert min(tempos) <= 50 and max(tempos) >= 170


# --------------------------------------------------------------------------- rendered distinctness
#: Minimum distance between any two presets' rendered features (see `render_distance`).
MIN_RENDER_DISTANCE = 0.5
RENDER_SECONDS = 5.0
AUDIO_PRESETS = ("calm", "metal", "chiptune", "ambient", "boss-battle", "lullaby")


def midi_features(data: bytes, duration: float) -> dict[str, float | np.ndarray]:
    """A listener's view of a MIDI file: pitch classes, onset rate, register, dynamics, tempo, drums."""
    midi = ma.read_midi(data)
    tonal, drums = midi.pitched(), midi.drums()
    profile = ma.pc_histogram(tonal)
    return {
        "profile": profile / max(profile.sum(), 1e-9),
        "onset_rate": ma.onset_rate(tonal.start, duration),  # onsets per second
        "register": float(tonal.pitch.mean()) if len(tonal.pitch) else 60.0,  # mean MIDI pitch
        "spread": ma.register_spread(tonal),  # semitones
        "dynamics": ma.velocity_spread(tonal),  # MIDI velocity units
        "tempo": midi.tempo,  # BPM
        "drum_rate": len(drums.start) / duration,  # drum hits per second
    }


def render_distance(a: dict, b: dict) -> float:
    """Euclidean distance over scaled rendered features; 1.0 ~ one clearly audible difference."""
    terms = [
        float(np.abs(a["profile"] - b["profile"]).sum()),  # 0 (same) .. 2 (disjoint pitch classes)
        math.log2((a["onset_rate"] + 0.5) / (b["onset_rate"] + 0.5)),
        (a["register"] - b["register"]) / 12,
        (a["spread"] - b["spread"]) / 6,
        (a["dynamics"] - b["dynamics"]) / 12,
        math.log2(a["tempo"] / b["tempo"]) / 0.5,
        math.log2((a["drum_rate"] + 0.5) / (b["drum_rate"] + 0.5)) / 2,
    ]
    if "centroid" in a and "centroid" in b:
        terms.append(math.log2(a["centroid"] / b["centroid"]))  # an octave of brightness -> 1
    return math.sqrt(sum(t * t for t in terms))


def spectral_centroid(wav: bytes) -> float:
    """Mean spectral centroid (Hz) of a WAV file, mono mix, magnitude-weighted."""
    samples, sr = soundfile.read(io.BytesIO(wav), dtype="float32")
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    spectrum = np.abs(np.fft.rfft(mono))
    freqs = np.fft.rfftfreq(len(mono), 1 / sr)
    return float((spectrum * freqs).sum() / max(spectrum.sum(), 1e-12))


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict]:
    from engine.render import render

    features = {}
    for preset in CATALOG:
        spec = RenderSpec(**preset.params, tempo=preset.tempo, duration_seconds=RENDER_SECONDS,
                          format="midi", preset=preset.id, style=preset.style)
        features[preset.id] = midi_features(render(spec), RENDER_SECONDS)
    for pid in AUDIO_PRESETS:
        preset = CATALOG.get(pid)
        spec = RenderSpec(**preset.params, tempo=preset.tempo, duration_seconds=3.0, format="wav",
                          style=preset.style)
        features[pid]["centroid"] = spectral_centroid(render(spec))
    return features


def test_rendered_presets_are_not_near_duplicates(rendered):
    pairs = sorted((render_distance(rendered[a.id], rendered[b.id]), a.id, b.id)
                   for a, b in itertools.combinations(CATALOG, 2))
    print("nearest preset pairs by rendered MIDI:", ", ".join(f"{a}/{b} {d:.3f}" for d, a, b in pairs[:5]))
    assert pairs[0][0] >= MIN_RENDER_DISTANCE, pairs[:5]


def test_rendered_tempo_and_audio_brightness_follow_the_presets(rendered):
    for preset in CATALOG:
        assert rendered[preset.id]["tempo"] == pytest.approx(preset.tempo, rel=1e-3)
    centroids = {pid: rendered[pid]["centroid"] for pid in AUDIO_PRESETS}
    print("spectral centroids (Hz):", ", ".join(f"{k} {v:.0f}" for k, v in centroids.items()))
    assert all(c > 0 for c in centroids.values())


def test_every_preset_plays_at_a_tempo_its_style_knows():
    from engine.styles import get_style

    for preset in CATALOG:
        lo, hi = get_style(preset.style).tempo
        assert lo <= preset.tempo <= hi, (preset.id, preset.style, preset.tempo)
