"""Evaluation: the development set of prompts (tests/data/prompts.yaml) resolves >= 90 % acceptably."""
from __future__ import annotations

import pathlib

import yaml

from engine.presets import load_presets
from engine.prompt import resolve_prompt

DATA = pathlib.Path(__file__).parent / "data" / "prompts.yaml"
REQUIRED_ACCURACY = 0.90


def _cases() -> list[dict]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))["prompts"]


def test_dev_set_is_large_and_well_formed():
    catalog = load_presets()
    cases = _cases()
    assert len(cases) >= 120
    prompts = [c["prompt"] for c in cases]
    assert len(prompts) == len(set(prompts)), "duplicate prompts"
    for case in cases:
        assert case["ok"], case
        unknown = [pid for pid in case["ok"] if pid not in catalog]
        assert not unknown, (case["prompt"], unknown)


def test_dev_set_accuracy():
    catalog = load_presets()
    cases = _cases()
    misses = []
    for case in cases:
        got = resolve_prompt(case["prompt"], catalog).preset
        if got not in case["ok"]:
            misses.append(f"{case['prompt']!r} -> {got} (acceptable: {', '.join(case['ok'])})")
    accuracy = 1 - len(misses) / len(cases)
    print(f"prompt dev set: {len(cases) - len(misses)}/{len(cases)} = {accuracy:.1%}")
    for miss in misses:
        print("  miss:", miss)
    assert accuracy >= REQUIRED_ACCURACY, misses
