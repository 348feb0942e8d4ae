"""README's table of styles stays true to the catalogue (one row per style, in file order)."""
from __future__ import annotations

import pathlib

from engine.styles import KITS, style_catalog

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_style_with_its_meter_tempo_and_drums():
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    styles = list(style_catalog())
    assert [c[0].strip("`") for c in cells if c[0].strip("`") in style_catalog()] == [s.id for s in styles]
    by_id = {c[0].strip("`"): c for c in cells}
    for style in styles:
        row = by_id[style.id]
        lo, hi = style.tempo
        assert row[1] == style.meter_text and row[3] == f"{lo:g}–{hi:g}", row
        assert row[4] == (KITS[style.kit] if style.kit is not None else "none"), row
        assert row[2].startswith("straight" if style.swing == 0.5 else "swing"), row
