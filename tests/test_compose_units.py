"""The composer's building blocks: Euclidean rhythms, generated scales, the walk."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.compose.rhythm import euclid, rubato
from engine.compose.scales import FAMILIES, family_index, mode_for, walk_degrees


@given(steps=st.integers(1, 48), data=st.data())
def test_euclid_spreads_onsets_evenly(steps, data):
    pulses = data.draw(st.integers(1, steps))
    rotation = data.draw(st.integers(0, 20))
    pattern = euclid(pulses, steps, rotation)
    assert pattern.sum() == pulses and pattern[0]
    onsets = np.flatnonzero(pattern)
    gaps = np.diff(np.append(onsets, onsets[0] + steps))
    assert gaps.max() - gaps.min() <= 1


def test_euclid_known_patterns():
    assert "".join("x" if b else "." for b in euclid(3, 8)) == "x..x..x."  # tresillo
    five = "".join("x" if b else "." for b in euclid(5, 8))
    assert five in {("x.xx.xx." * 2)[i:i + 8] for i in range(8)}  # Bjorklund's necklace
    assert not euclid(0, 8).any()


@pytest.mark.parametrize("n,k,family", [(12, 5, "diatonic"), (7, 3, "diatonic"), (12, 2, "whole-tone"),
                                        (12, 3, "octatonic"), (12, 1, "chromatic"), (12, 4, "hexatonic"),
                                        (2, 1, "tritone"), (2000, 1000, "tritone"), (2000, 1, "pentatonic"),
                                        (48, 1, "pentatonic"), (24, 1, "chromatic")])
def test_family_from_generator(n, k, family):
    assert FAMILIES[family_index(n, k)] == family


@pytest.mark.parametrize("family_n_k", [(12, 1), (12, 2), (12, 3), (12, 4), (12, 5), (12, 6), (48, 1), (31, 13)])
@pytest.mark.parametrize("xi", [1.0, -1.0])
def test_chords_are_scale_subsets_covering_the_scale_with_a_tonic_triad(family_n_k, xi):
    mode = mode_for(*family_n_k, xi)
    scale = set(mode.scale)
    assert all(set(c) <= scale for c in mode.chords)
    assert set().union(*map(set, mode.chords)) == scale
    third = 3 if mode.minor and mode.family != "whole-tone" else 4  # whole-tone has no minor third
    assert mode.chords[0][:1] == (0,) and {0, third} <= set(mode.chords[0])


@given(n=st.integers(2, 2000), data=st.data())
def test_walk_repeats_every_n_over_gcd(n, data):
    k = data.draw(st.integers(1, n // 2))
    mode = mode_for(n, k, 1.0)
    cycle = n // math.gcd(n, k)
    deg = walk_degrees(n, k, 2 * cycle + 3, mode)
    assert np.array_equal(deg[cycle:2 * cycle], deg[:cycle])
    assert deg.min() >= 0 and deg.max() < len(mode.scale)


def test_rubato_is_monotonic_and_starts_on_time():
    t = np.linspace(0, 60, 5001)
    w = rubato(t, phrase_seconds=8.0, depth=5.0)
    assert w[0] == 0 and np.all(np.diff(w) > 0)
