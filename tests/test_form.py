"""Form, measured from the MIDI: sections with contrast in long pieces, previews that are the
piece's most characteristic part (issue 8, part 5)."""
from __future__ import annotations

import musicanalysis as ma
import numpy as np
import pytest

from engine.compose.form import make_form
from engine.presets import load_presets
from engine.render import render
from engine.resolve import resolve_request
from engine.styles import get_style

CATALOG = load_presets()


def density_contrast(m: ma.Midi, bar: float) -> float:
    """Notes in the densest 8-bar window over notes in the sparsest (windows slide by a bar)."""
    starts = np.concatenate([t.start for t in m.tracks])
    counts = [np.sum((starts >= t) & (starts < t + 8 * bar)) for t in np.arange(0.0, m.end_time - 8 * bar, bar)]
    return max(counts) / max(1, min(counts))


@pytest.fixture(scope="module")
def contrasts() -> dict[str, float]:
    out = {}
    for preset in CATALOG:
        spec = resolve_request(catalog=CATALOG, preset=preset.id, duration_seconds=60.0, format="midi")
        style = get_style(spec.style_id)
        bar = 60.0 / spec.tempo * style.meter[0] * 4 / style.meter[1]
        out[preset.id] = density_contrast(ma.read_midi(render(spec)), bar)
    return out


def test_long_pieces_have_sections_with_audible_contrast(contrasts):
    low = {k: round(v, 2) for k, v in contrasts.items() if v < 1.5}
    assert len(low) <= 0.1 * len(contrasts), low  # the densest 8 bars hold 1.5x the sparsest
    assert min(contrasts.values()) >= 1.15, low


@pytest.mark.parametrize("preset", ["calm", "house", "jazz-cafe", "metal", "celtic", "lullaby"])
def test_pieces_of_45_s_or_more_have_intro_body_and_ending(preset):
    spec = resolve_request(catalog=CATALOG, preset=preset, duration_seconds=45.0)
    style = get_style(spec.style_id)
    form = make_form(style, tempo=spec.tempo, duration=45.0, omega=spec.omega, meter=style.meter)
    names = [s.name for s in form.sections]
    assert len(names) >= 3 and names[0] == "intro" and names[-1] == "outro"


@pytest.mark.parametrize("preset", ["house", "techno", "trance"])
def test_a_preview_is_the_drop_not_the_intro(preset):
    spec = resolve_request(catalog=CATALOG, preset=preset, duration_seconds=5.0, format="midi")
    m = ma.read_midi(render(spec))
    beat = 60.0 / m.tempo
    kicks = m.drums().start[m.drums().pitch == 36]
    assert kicks.min() < 0.01 and len(kicks) >= int(4.0 / beat)  # the groove from the first beat
    assert m.track("melody").start.min() < 4 * beat  # the hook within the first bar
