"""Form: sections with an energy plan, bars, harmonic slots and the final cadence, in ticks.

A piece of 24 s or more (and at least 8 bars) is laid out from the style's `form`: an intro,
body sections (verse, chorus, build, drop, breakdown, ...) cycled to fill the time, and an
outro, then the final tonic chord. Shorter pieces (previews) are one section: the style's most
characteristic one (drop, chorus, solo or verse), so a 5 s preview is never an intro.

|omega| sets the harmonic rhythm (chords per bar: 1/2, 1, 2 or 4). Each section walks one of
the style's progressions (verse and chorus take different ones); the chord before the final
tonic is the cadential one, so every piece ends on a cadence to the tonic.

A loop (`loop=True`) is whole bars with no intro, outro or final chord: its body sections
cycle, the last chord is the one that leads back to the tonic chord the first bar opens with,
and notes may last to the very end (the end flows into the start when the file repeats).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.compose.rhythm import bar_ticks, pulse_ticks
from engine.styles import Style

#: Energy 0..1 of each section kind: which layers play and how busy they are.
ENERGY = {"intro": 0.3, "verse": 0.6, "chorus": 0.9, "build": 0.7, "drop": 1.0, "breakdown": 0.3,
          "bridge": 0.55, "solo": 0.8, "outro": 0.35}
#: The most characteristic section, in order of preference (what a short piece plays).
MAIN = ("drop", "chorus", "solo", "verse", "build", "bridge", "breakdown", "intro", "outro")
#: Which of the style's progressions each section kind walks (index modulo their count).
PROGRESSION_OF = {"intro": 0, "verse": 0, "chorus": 1, "build": 0, "drop": 1, "breakdown": 2,
                  "bridge": 2, "solo": 0, "outro": 0}
MIN_FORM_SECONDS = 24.0  #: shorter pieces are a single section
SHORT_FORM_BARS = 28  #: below this, the form is intro, verse, main section, outro
MIN_FORM_BARS = 8


@dataclass(frozen=True)
class Section:
    """One section: kind (intro, verse, ...), ticks [start, end), energy 0..1, index in the piece."""

    name: str
    start: int
    end: int
    energy: float
    index: int


@dataclass(frozen=True)
class Slot:
    """One harmonic slot: ticks [start, end), the chord's scale degree (0 = tonic), its section."""

    start: int
    end: int
    degree: int
    section: int


@dataclass(frozen=True)
class Form:
    """The time plan of one piece.

    tick: seconds per tick. bar, pulse: ticks per bar and per felt beat. final_tick: start of
    the final tonic chord (a beat boundary). end_tick / end_seconds: where every note ends at the
    latest. phrase_ticks: melody phrase length. slot_ticks: harmonic slot length.
    """

    tick: float
    meter: tuple[int, int]
    bar: int
    pulse: int
    final_tick: int
    end_tick: int
    end_seconds: float
    phrase_ticks: int
    slot_ticks: int
    sections: tuple[Section, ...]
    slots: tuple[Slot, ...]
    loop: bool = False

    @property
    def cadence(self) -> bool:
        """Whether the piece ends on a final tonic chord from final_tick (not in a loop)."""
        return self.end_tick > self.final_tick

    def section_at(self, tick: int) -> Section:
        """The section sounding at `tick` (the last one for ticks at or after the final chord)."""
        for s in self.sections:
            if tick < s.end:
                return s
        return self.sections[-1]

    @property
    def n_bars(self) -> int:
        """Bars up to the final chord (the last one may be partial)."""
        return -(-self.final_tick // self.bar)


def chords_per_bar(omega: float) -> float:
    """Harmonic rhythm: chord changes per bar, non-decreasing in |omega|."""
    a = abs(omega)
    return 0.5 if a < 0.5 else 1.0 if a < 3.0 else 2.0 if a < 6.0 else 4.0


def plan_sections(style: Style, n_bars: int, duration: float) -> list[tuple[str, int]]:
    """(kind, bars) of each section, covering n_bars bars."""
    if duration < MIN_FORM_SECONDS or n_bars < MIN_FORM_BARS:
        main = next(s for s in MAIN if s in style.form)
        return [(main, n_bars)]
    body = [s for s in style.form if s not in ("intro", "outro")] or ["verse"]
    if n_bars < SHORT_FORM_BARS:  # intro, a verse, the main section at length, a short ending
        main = next(s for s in MAIN if s in body)
        first = next((s for s in body if s != main and ENERGY[s] < ENERGY[main]), main)
        edge = 2
        verse = 6 if n_bars >= 20 else 4 if n_bars >= 14 else 2 if n_bars >= 8 else 0
        plan = [("intro", edge), (first, verse), (main, n_bars - 2 * edge - verse), ("outro", edge)]
        return [(name, bars) for name, bars in plan if bars > 0]
    length = max(style.section_bars, 8)
    while length > 2 and length * 2 > n_bars - 4:
        length //= 2
    edge = 4 if n_bars >= 24 and length >= 4 else 2  # longer pieces keep the four-bar hypermeter
    plan = [("intro", edge)] if "intro" in style.form else []
    left = n_bars - sum(b for _, b in plan)
    i = 0
    while left - length >= edge:
        plan.append((body[i % len(body)], length))
        left -= length
        i += 1
    if left > edge + 2 or i == 0:
        extra = left - edge if i else max(1, left - edge)
        plan.append((body[i % len(body)], extra))
        left -= extra
    if left > 0:
        plan.append(("outro", left))
    return plan


def plan_loop_sections(style: Style, n_bars: int, duration: float) -> list[tuple[str, int]]:
    """(kind, bars) of each section of a loop: body sections only (no intro or outro)."""
    body = [s for s in style.form if s not in ("intro", "outro")] or ["verse"]
    if duration < MIN_FORM_SECONDS or n_bars < MIN_FORM_BARS:
        return [(next(s for s in MAIN if s in body), n_bars)]
    length = max(style.section_bars, 8)
    while length > 2 and length * 2 > n_bars:
        length //= 2
    plan: list[tuple[str, int]] = []
    left = n_bars
    while left >= length:
        plan.append((body[len(plan) % len(body)], length))
        left -= length
    if left:  # a remainder shorter than a section lengthens the last one
        plan[-1] = (plan[-1][0], plan[-1][1] + left)
    return plan


def make_form(style: Style, *, tempo: float, duration: float, omega: float,
              meter: tuple[int, int], loop: bool = False) -> Form:
    """Plan sections, bars and harmonic slots for `duration` seconds at `tempo` BPM.

    loop: `duration` is whole bars; no final cadence, notes may end at `duration`."""
    beat = 60.0 / tempo
    tick = beat / 24
    bar = bar_ticks(meter)
    pulse = pulse_ticks(meter)
    slot_ticks = int(bar / chords_per_bar(omega))
    if loop:
        n_bars = max(1, round(duration / (bar * tick)))
        final_tick = end_tick = n_bars * bar
        end_seconds = duration
        plan = plan_loop_sections(style, n_bars, duration)
    else:
        final_len = min(max(2.0 * beat, 1.0), 4.0, 0.6 * duration)
        final_tick = max(0, int(np.floor((duration - final_len) / beat + 1e-9)) * 24)
        end_seconds = duration - min(0.5, 0.08 * duration)
        end_tick = max(final_tick + 1, int(np.ceil(end_seconds / tick)))
        n_bars = max(1, -(-final_tick // bar))
        plan = plan_sections(style, n_bars, duration)
    sections: list[Section] = []
    t = 0
    for i, (name, bars) in enumerate(plan):
        sections.append(Section(name, t, min(t + bars * bar, final_tick) if i else t + bars * bar,
                                ENERGY[name], i))
        t += bars * bar
    sections[-1] = Section(sections[-1].name, sections[-1].start, max(final_tick, sections[-1].start),
                           sections[-1].energy, sections[-1].index)
    sections = [s for s in sections if s.end > s.start] or [sections[0]]
    sections = [Section(s.name, s.start, s.end, s.energy, i) for i, s in enumerate(sections)]
    slots: list[Slot] = []
    for sec in sections:
        # a single-section piece (a preview) walks the style's first, home-centred progression
        which = PROGRESSION_OF[sec.name] if len(sections) > 1 else 0
        prog = style.progressions[which % len(style.progressions)]
        if 0 in prog:  # sections open on the tonic chord, so the key is heard from the start
            prog = prog[prog.index(0):] + prog[:prog.index(0)]
        for j, s0 in enumerate(range(sec.start, sec.end, slot_ticks)):
            slots.append(Slot(s0, min(s0 + slot_ticks, sec.end, final_tick), prog[j % len(prog)], sec.index))
    slots = [s for s in slots if s.end > s.start]
    if slots and slots[-1].degree == 0 and (len(slots) > 1 or not loop):
        last = slots[-1]
        slots[-1] = Slot(last.start, last.end, 4, last.section)  # V before the final (or first) I
    if not loop:
        slots.append(Slot(final_tick, end_tick, 0, sections[-1].index))
    return Form(tick=tick, meter=meter, bar=bar, pulse=pulse, final_tick=final_tick, end_tick=end_tick,
                end_seconds=end_seconds, phrase_ticks=style.melody.phrase_bars * bar, slot_ticks=slot_ticks,
                sections=tuple(sections), slots=tuple(slots), loop=loop)
