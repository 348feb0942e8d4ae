"""Drums (only when lock_psi_tau and the style has a kit): the style's grooves, section by section.

Each bar plays one of the style's grooves (engine/data/styles.yaml): the sparse one in verses,
the busy one in choruses and drops or when |omega| >= 4. Intros start without drums, then
bring in the kick and hats (outros keep just those); breakdowns keep only hats and shakers; the bar before a new section is the style's
fill; verses thin 16th-note hats and shakers to 8ths; a section of energy >= 0.85 opens with a crash; the piece ends on kick and crash.
"""
from __future__ import annotations

from engine.compose.form import Form
from engine.compose.notes import NoteList
from engine.compose.rhythm import lane_hits
from engine.styles import LANES, Style

#: Base velocity factor of each lane (times the part's base velocity).
LANE_LEVEL = {"kick": 1.0, "snare": 0.97, "clap": 0.9, "rim": 0.8, "hat": 0.7, "pedal": 0.6, "ohat": 0.75,
              "crash": 0.9, "ride": 0.75, "bell": 0.8, "tamb": 0.65, "cowbell": 0.7, "shaker": 0.55,
              "clave": 0.75, "conga_hi": 0.75, "conga_lo": 0.8, "tom_lo": 0.9, "tom_mid": 0.88,
              "tom_hi": 0.85, "wood": 0.7, "triangle": 0.6}
INTRO_LANES = {"kick", "hat", "pedal", "ride", "shaker", "tom_lo"}  #: the second half of an intro, outros
BREAKDOWN_LANES = {"hat", "shaker", "ride", "pedal", "tamb"}
THINNED_IN_VERSES = {"hat", "shaker", "tamb"}  #: 16th-note lanes play 8ths below chorus energy
_LONG = {"crash": 48, "ride": 24, "ohat": 12}  #: lane -> length in ticks (others: a 16th)


def drum_notes(form: Form, style: Style, *, omega: float, variation: int = 0) -> NoteList:
    """Drum hits (pitch = GM percussion key, accent = velocity factor) up to the final chord.
    Odd variations add a fill halfway through long sections; every third take plays the busy
    groove on each fourth bar of its verses."""
    out = NoteList()
    busy = 1 if abs(omega) >= 4 else 0
    last_bar = form.n_bars - 1
    for b in range(form.n_bars):
        t0 = b * form.bar
        sec = form.section_at(t0)
        idx = min(len(style.grooves) - 1, max(busy, 1 if sec.energy >= 0.85 else 0))
        lanes = dict(style.grooves[idx])
        if variation % 3 == 2 and idx == 0 and (b - sec.start // form.bar) % 4 == 3:
            idx = min(len(style.grooves) - 1, 1)
            lanes = dict(style.grooves[idx])
        # a fill ends each section but the last; a loop's last one too (its end leads to the start)
        section_end = t0 + form.bar >= sec.end and (sec.index < len(form.sections) - 1 or form.loop)
        halfway = (sec.end - sec.start) // form.bar >= 8 and t0 + form.bar == (sec.start + sec.end) // 2
        section_end = section_end or (variation % 2 == 1 and halfway)
        if sec.name in ("intro", "outro") and len(form.sections) > 1:
            if sec.name == "intro" and t0 < (sec.start + sec.end) // 2:
                continue
            lanes = {k: v for k, v in style.grooves[0].items() if k in INTRO_LANES}
        elif sec.name == "breakdown":
            lanes = {k: v for k, v in style.grooves[0].items() if k in BREAKDOWN_LANES}
        if section_end and style.fill and (b < last_bar or (form.loop and form.n_bars >= 4)):
            lanes = {**{k: v for k, v in lanes.items() if k in ("kick", "hat", "ride", "pedal")}, **style.fill}
        # a crash marks a new section; a one-section loop has none, so its join is not marked
        new_section = t0 == sec.start and not (form.loop and len(form.sections) == 1)
        if sec.energy >= 0.85 and new_section and "crash" not in lanes:
            out.add(t0, t0 + _LONG["crash"], LANES["crash"], accent=LANE_LEVEL["crash"])
        for lane, steps in lanes.items():
            if sec.energy < 0.7 and lane in THINNED_IN_VERSES and len(steps) >= 16:
                steps = "".join(c if i % 2 == 0 else "." for i, c in enumerate(steps))  # 16ths -> 8ths
            for t, accent in lane_hits(steps, form.bar):
                start = t0 + t
                if start >= form.final_tick:
                    continue
                length = _LONG.get(lane, 6)
                out.add(start, min(start + length, form.end_tick), LANES[lane],
                        accent=accent * LANE_LEVEL[lane] * (0.85 + 0.15 * sec.energy))
    if form.cadence:
        out.add(form.final_tick, min(form.final_tick + 24, form.end_tick), LANES["kick"], accent=1.0)
        out.add(form.final_tick, min(form.final_tick + 96, form.end_tick), LANES["crash"], accent=0.9)
    return out


def kick_ticks(notes: NoteList) -> list[int]:
    """Onsets (ticks) of the kick drum, for the 808 bass to follow."""
    return [s for s, p in zip(notes.start, notes.pitch) if p == LANES["kick"]]
