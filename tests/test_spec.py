"""RenderSpec: validation names the field and range; the canonical form and ids are stable."""
import math

import pytest

from engine.errors import ParameterError
from engine.spec import RenderSpec, default_k, validate_geometry

BASE = {"n": 120, "k": 49, "omega": 2.5, "xi": 1.8, "psi": 0.0, "lock_psi_tau": True}


def test_id_is_long_lowercase_hex_and_stable():
    spec = RenderSpec(**BASE)
    assert len(spec.id) == 32 and int(spec.id, 16) >= 0 and spec.id == spec.id.lower()
    assert spec.id == RenderSpec(**BASE).id
    # Pinned: a change here invalidates every cached job, so it must be deliberate (bump ENGINE_VERSION).
    assert spec.canonical_json() == (
        '{"duration_seconds":30.0,"engine_version":"2","format":"wav","k":49,"lock_psi_tau":true,'
        '"n":120,"omega":2.5,"preset":null,"psi":0.0,"sample_rate":44100,"tempo":120.0,"xi":1.8}'
    )


@pytest.mark.parametrize("change", [
    {"n": 121}, {"k": 48}, {"omega": 2.6}, {"xi": -1.8}, {"psi": 0.1}, {"lock_psi_tau": False},
    {"tempo": 121}, {"duration_seconds": 29}, {"format": "mp3"}, {"preset": "calm"}, {"style": "jazz"},
])
def test_every_field_changes_the_id(change):
    assert RenderSpec(**{**BASE, **change}).id != RenderSpec(**BASE).id


def test_seed_ignores_format_and_preset_label_but_not_music():
    spec = RenderSpec(**BASE)
    assert spec.with_(format="midi").seed == spec.seed == spec.with_(preset="calm").seed
    assert spec.with_(omega=2.4).seed != spec.seed


def test_floats_are_quantised_so_equal_requests_share_an_id():
    a = RenderSpec(**{**BASE, "omega": 2.5000000001, "tempo": 120.00001})
    assert a.id == RenderSpec(**BASE).id
    assert RenderSpec(**{**BASE, "omega": -0.0}).canonical_json() == RenderSpec(**{**BASE, "omega": 0.0}).canonical_json()


@pytest.mark.parametrize("psi, tonic", [(0.0, 0), (2 * math.pi, 0), (2 * math.pi / 12 * 2, 2),
                                       (2 * math.pi / 12 * 11, 11), (2 * math.pi / 24 * 0.99, 0)])
def test_tonic_from_psi(psi, tonic):
    assert RenderSpec(**{**BASE, "psi": psi}).tonic == tonic


def test_frames_exact():
    assert RenderSpec(**{**BASE, "duration_seconds": 2.5}).frames == 110250


@pytest.mark.parametrize("field, value, named", [
    ("n", 1, "params.n"), ("n", 2001, "params.n"), ("n", 12.5, "params.n"), ("n", True, "params.n"),
    ("k", 61, "params.k"), ("k", 0, "params.k"), ("omega", 10.5, "params.omega"),
    ("omega", float("nan"), "params.omega"), ("xi", float("inf"), "params.xi"), ("psi", -0.1, "params.psi"),
    ("psi", 6.3, "params.psi"), ("lock_psi_tau", 1, "params.lock_psi_tau"), ("tempo", 39, "tempo"),
    ("tempo", 301, "tempo"), ("duration_seconds", 0.5, "duration_seconds"),
    ("duration_seconds", 300.5, "duration_seconds"), ("format", "ogg", "format"), ("omega", "2", "params.omega"),
])
def test_out_of_range_names_field_and_range(field, value, named):
    with pytest.raises(ParameterError) as info:
        RenderSpec(**{**BASE, field: value})
    assert info.value.field == named
    assert named in str(info.value)


def test_k_over_half_n_names_the_limit():
    with pytest.raises(ParameterError, match=r"n/2 = 5"):
        validate_geometry({"n": 10, "k": 6})


def test_defaults_fill_missing_geometry_and_k_follows_n():
    full = validate_geometry({"n": 12})
    assert full["k"] == default_k(12) == 5
    assert set(full) == {"n", "k", "omega", "xi", "psi", "lock_psi_tau"}
    assert validate_geometry({"n": 2})["k"] == 1
    assert validate_geometry({"n": 2000})["k"] == 833


def test_unknown_geometry_field_rejected():
    with pytest.raises(ParameterError, match="params.tau"):
        validate_geometry({"tau": 1})


def test_round_trip_through_dict():
    spec = RenderSpec(**BASE, preset="calm", format="midi")
    assert RenderSpec.from_dict(spec.to_dict()) == spec
