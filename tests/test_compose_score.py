"""The composed Score is sane for every spec: fields, bounds, order, coverage, determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compose import params_to_score
from engine.score import Score
from engine.spec import RenderSpec

EDGE_CASES = [
    {"n": 2, "k": 1},
    {"n": 2000, "k": 1000},
    {"n": 2000, "k": 1},
    {"omega": 0.0},
    {"xi": 0.0},
    {"omega": 0.0, "xi": 0.0},
    {"psi": 2 * math.pi},
    {"duration_seconds": 1.0},
    {"duration_seconds": 1.0, "tempo": 40.0},
    {"duration_seconds": 300.0, "n": 2000, "k": 833, "omega": 10.0, "xi": 10.0},
    {"tempo": 40.0},
    {"tempo": 300.0, "omega": 10.0},
    {"tempo": 40.0, "omega": 0.0, "lock_psi_tau": False},
    {"tempo": 300.0, "omega": -10.0, "xi": -10.0, "lock_psi_tau": False},
]


def spec(**kw) -> RenderSpec:
    base = {"n": 24, "k": 10, "omega": 1.0, "xi": 1.0, "psi": 0.0, "lock_psi_tau": True,
            "tempo": 120.0, "duration_seconds": 30.0}
    return RenderSpec(**{**base, **kw})


def max_gap(score: Score) -> float:
    """Longest time (s) inside the piece with no pitched note sounding."""
    spans = sorted((n.start, n.end) for n in score.all_notes())
    reach, gap = 0.0, 0.0
    for start, end in spans:
        gap = max(gap, start - reach)
        reach = max(reach, end)
    return max(gap, score.duration - reach)


def check_sane(s: RenderSpec, score: Score) -> None:
    assert score.tempo == s.tempo and score.duration == s.duration_seconds
    assert score.tonic == s.tonic and score.seed == s.seed
    names = [p.name for p in score.parts]
    assert {"bass", "harmony", "melody"} <= set(names)
    assert ("drums" in names) == s.lock_psi_tau
    pitched = [p for p in score.parts if not p.is_drum]
    assert len({p.name for p in pitched}) == len(pitched)  # one track per voice
    assert len({p.pan for p in score.parts if not p.is_drum}) == len(pitched)
    for part in score.parts:
        assert part.notes, part.name
        keys = [(n.start, n.pitch) for n in part.notes]
        assert keys == sorted(keys), part.name
        a = part.arrays()
        assert np.all(a["start"] >= 0) and np.all(a["end"] > a["start"])
        assert np.all(a["end"] <= s.duration_seconds)
        assert np.all((a["velocity"] >= 1) & (a["velocity"] <= 127))
        assert np.all((a["pitch"] >= 0) & (a["pitch"] <= 127))
        for p in np.unique(a["pitch"]):  # one key never overlaps itself
            m = a["pitch"] == p
            assert np.all(a["start"][m][1:] >= a["end"][m][:-1] - 1e-9)
    bass, harmony, melody = (next(p for p in score.parts if p.name == r).arrays() for r in ("bass", "harmony", "melody"))
    assert 24 <= bass["pitch"].min() and bass["pitch"].max() <= 60
    assert 36 <= harmony["pitch"].min() and harmony["pitch"].max() <= 88  # low power chords in metal
    assert 45 <= melody["pitch"].min() and melody["pitch"].max() <= 100
    assert max_gap(score) <= 1.0


@pytest.mark.parametrize("kw", EDGE_CASES, ids=lambda kw: ",".join(f"{k}={v:g}" for k, v in kw.items()))
def test_edge_cases_make_sane_music(kw):
    s = spec(**kw)
    check_sane(s, params_to_score(s))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 2000), kfrac=st.floats(0, 1), omega=st.floats(-10, 10), xi=st.floats(-10, 10),
       psi=st.floats(0, 2 * math.pi), lock=st.booleans(), tempo=st.floats(40, 300), dur=st.floats(1, 40))
def test_any_spec_makes_sane_music(n, kfrac, omega, xi, psi, lock, tempo, dur):
    k = max(1, min(n // 2, round(kfrac * n / 2)))
    s = spec(n=n, k=k, omega=omega, xi=xi, psi=psi, lock_psi_tau=lock, tempo=tempo, duration_seconds=dur)
    check_sane(s, params_to_score(s))


def test_piece_fills_the_duration_and_ends_on_the_tonic():
    s = spec(duration_seconds=45.0, psi=2 * math.pi * 5 / 12)
    score = params_to_score(s)
    notes = score.all_notes()
    assert notes[0].start == 0.0
    last_end = max(n.end for n in notes)
    assert s.duration_seconds - 1.0 <= last_end <= s.duration_seconds
    final_start = max(n.start for n in notes)
    final = {n.pitch % 12 for n in notes if n.start == final_start}
    bass, melody = (next(p for p in score.parts if p.name == r).notes[-1] for r in ("bass", "melody"))
    assert bass.pitch % 12 == 5 and melody.pitch % 12 == 5 and {5, 9, 0} <= final


def test_same_spec_same_score_and_seed_changes_only_with_music():
    s = spec(lock_psi_tau=False)
    assert params_to_score(s) == params_to_score(RenderSpec.from_dict(s.to_dict()))
    assert params_to_score(s) != params_to_score(s.with_(psi=0.1))  # different seed, same tonic
    assert params_to_score(s) != params_to_score(s.with_(tempo=121.0))
    assert params_to_score(s) == params_to_score(s.with_(format="midi", preset="x"))  # not musical fields


def test_notes_are_plain_python_numbers():
    score = params_to_score(spec())
    note = score.parts[0].notes[0]
    assert type(note.start) is float and type(note.pitch) is int and type(note.velocity) is int
