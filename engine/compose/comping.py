"""Comping and pad: the harmony voices, each playing the style's pattern over the chord slots.

Patterns (positions in ticks within a 4/4 bar of 96, scaled for 72-tick bars):
    pad            the chord held through its slot (broken in 8ths in choruses and drops)
    block          the chord on every beat (half notes when |omega| < 1)
    stabs          short syncopated chords (funk, hip-hop)
    offbeat-stabs  short chords on every off-beat 8th (house piano, organ)
    skank          reggae: short chops on beats 2 and 4
    strum          guitar strums D . D U . U D U (8ths), each chord strummed low to high
    power          power chords (root, fifth, octave): 8th chugs in verses, held in choruses
    arpeggio       the chord broken up and down in 8ths (16ths when |omega| >= 4)
    alberti        low-high-middle-high (classical)
    bossa          the bossa nova comping cell
    charleston     jazz comping on 1 and the and of 2, shell voicings
    waltz          the chord on beats 2 and 3 (3/4)
    gated          16th-note gated chords (trance)
    sparse         one short stab every other bar (techno, lo-fi)
    bubble         organ 16ths on the off-beats (reggae)
Quiet sections (intro, breakdown) hold the chords instead.
"""
from __future__ import annotations

from engine.compose.form import Form
from engine.compose.harmony import (
    HARMONY_CENTER,
    PAD_CENTER,
    absolute,
    chord_pcs,
    power_chord,
    voice_chords,
)
from engine.compose.notes import NoteList
from engine.compose.scales import Mode
from engine.styles import Style

#: pattern -> (tick in a 96-tick bar, length in ticks, accent)
_CELLS = {
    "block": [(t, 16, 1.0 if t == 0 else 0.85) for t in (0, 24, 48, 72)],
    "stabs": [(0, 10, 1.0), (36, 8, 0.85), (60, 8, 0.9)],
    "offbeat-stabs": [(t, 8, 0.9) for t in (12, 36, 60, 84)],
    "skank": [(24, 8, 0.9), (72, 8, 0.9)],
    "strum": [(0, 22, 1.0), (24, 10, 0.8), (36, 10, 0.7), (60, 10, 0.75), (72, 10, 0.85), (84, 10, 0.7)],
    "bossa": [(0, 10, 1.0), (18, 10, 0.8), (36, 10, 0.85), (60, 10, 0.8), (78, 10, 0.8)],
    "charleston": [(0, 10, 1.0), (36, 10, 0.85)],
    "waltz": [(24, 20, 0.8), (48, 20, 0.75)],
    "gated": [(t, 4, 0.9 if t % 24 else 1.0) for t in range(0, 96, 6)],
    "bubble": [(t, 4, 0.7) for t in range(6, 96, 12)],
}


def _scaled(cell: list[tuple[int, int, float]], bar: int) -> list[tuple[int, int, float]]:
    if bar == 96:
        return cell
    s = bar / 96
    return sorted({(int(t * s) // 6 * 6, max(4, int(n * s)), a) for t, n, a in cell if t * s < bar})


def _chords(form: Form, mode: Mode, tonic: int, extension: int) -> list[tuple[int, ...]]:
    """Absolute chords of every slot; the final tonic is a plain triad."""
    return [absolute(chord_pcs(mode, slot.degree, extension=0 if slot.start >= form.final_tick else extension),
                     tonic) for slot in form.slots]


def comping_notes(form: Form, style: Style, mode: Mode, *, tonic: int, extension: int, omega: float,
                  xi: float, locked: bool, variation: int = 0) -> NoteList:
    """The comping voice (role 'harmony') through the piece, ending on the tonic chord; each
    variation voices the chords around another centre (other inversions)."""
    chords = _chords(form, mode, tonic, extension)
    pattern = style.comping
    max_notes = 3
    center = HARMONY_CENTER + 3 * (variation % 3 - 1 if variation else 0)
    voiced = voice_chords(chords, center=center, open_voicing=abs(xi) >= 2.5, max_notes=max_notes)
    voiced = [_double_tonic(v, c[0]) if slot.degree == 0 else v for v, c, slot in zip(voiced, chords, form.slots)]
    a = abs(omega)
    out = NoteList()
    for slot, chord, notes in zip(form.slots, chords, voiced):
        energy = form.sections[slot.section].energy
        final = slot.start >= form.final_tick
        if pattern == "power":
            low = 40 if style.id != "metal" else 38
            pc = power_chord(chord[0], chord[min(2, len(chord) - 1)], low=low)
            if final or energy < 0.4:
                for b in range(slot.start, slot.end, form.bar) if not final else [slot.start]:
                    out.chord(b, min(b + form.bar, slot.end), pc, accent=1.0)
            else:  # verses chug in quarters, choruses in 8ths (16ths when fast or metal)
                step = 6 if (a >= 4 or style.id == "metal") else 12
                step = step * 2 if energy < 0.7 else step
                for t in range(slot.start, slot.end, step):
                    out.chord(t, min(t + step - 2, slot.end), pc, accent=1.0 if t % form.pulse == 0 else 0.8)
            continue
        if pattern == "pad" and energy >= 0.85 and not final:  # held pads open up into broken chords
            _broken(out, slot.start, slot.end, notes, pattern="arpeggio", fast=False, bar=form.bar)
            continue
        if final or pattern == "pad" or energy < 0.4:
            held = notes if len(notes) <= 3 else tuple(sorted(notes)[1:])
            out.chord(slot.start, slot.end, held, accent=0.85 if not final else 0.9)
            continue
        light = energy < 0.75  # verses, builds and bridges comp at half the rate of choruses
        if pattern in ("arpeggio", "alberti"):
            _broken(out, slot.start, slot.end, notes, pattern=pattern, fast=a >= 4 and not light, bar=form.bar,
                    slow=light)
            continue
        if pattern == "sparse":
            bar0 = slot.start - slot.start % form.bar
            for b in range(bar0, slot.end, form.bar):
                if (b // form.bar) % 2 == 0 and slot.start <= b:
                    out.chord(b, min(b + 18, slot.end), notes, accent=0.9)
                if slot.start <= b + 60 < slot.end and energy >= 0.85:
                    out.chord(b + 60, min(b + 68, slot.end), notes, accent=0.75)
            if slot.start % form.bar:
                out.chord(slot.start, min(slot.start + 12, slot.end), notes, accent=0.8)
            continue
        cell = _scaled(_CELLS[pattern], form.bar)
        if pattern == "block" and a < 1:
            cell = [(t, n * 2, acc) for t, n, acc in cell if t % 48 == 0]
        bar0 = slot.start - slot.start % form.bar
        hits = [(b + t, n, acc) for b in range(bar0, slot.end, form.bar) for t, n, acc in cell
                if slot.start <= b + t < slot.end]
        if not hits and pattern not in ("skank", "offbeat-stabs", "bubble", "waltz"):
            hits = [(slot.start, cell[0][1], 1.0)]
        if light and len(hits) > 2:
            hits = hits[::2]
        for t, n, acc in hits:
            out.chord(t, min(t + n, slot.end), notes, accent=acc)
    return out


def _double_tonic(notes: tuple[int, ...], root_pc: int) -> tuple[int, ...]:
    """The tonic chord with its root doubled at the top (or added), so the key is heard."""
    top = max(notes)
    root = top + ((root_pc - top) % 12 or 12)
    if root - 12 in notes and root > 84:
        return notes
    return tuple(sorted(set(notes) | {root if root <= 84 else root - 12}))


def _broken(out: NoteList, s0: int, s1: int, notes: tuple[int, ...], *, pattern: str, fast: bool, bar: int,
            slow: bool = False) -> None:
    """A broken chord: up-and-down arpeggio, or Alberti (low, high, middle, high); 16ths when
    fast, quarters when slow, else 8ths (Alberti: 16ths, 8ths when slow)."""
    step = 6 if fast or pattern == "alberti" else 12
    if slow:
        step *= 2
    tones = sorted(notes)
    if pattern == "alberti":
        seq = [tones[0], tones[-1], tones[len(tones) // 2], tones[-1]]
    else:
        up = tones + [tones[0] + 12]
        seq = up + up[-2:0:-1]
    for i, t in enumerate(range(s0, s1, step)):
        out.add(t, min(t + step + step // 2, s1), seq[i % len(seq)], accent=0.95 if t % bar == 0 else 0.8)


def pad_notes(form: Form, style: Style, mode: Mode, *, tonic: int, extension: int, sections: set[str]) -> NoteList:
    """Held chords (role 'pad') in the sections listed, three voices around PAD_CENTER; over a
    reggae skank the organ bubbles (short off-beat 16th chords) instead."""
    chords = _chords(form, mode, tonic, min(extension, 1))
    voiced = voice_chords(chords, center=PAD_CENTER, max_notes=3)
    bubble = _scaled(_CELLS["bubble"], form.bar) if style.comping == "skank" else None
    out = NoteList()
    for slot, notes in zip(form.slots, voiced):
        final = slot.start >= form.final_tick
        if form.sections[slot.section].name not in sections and not final:
            continue
        if bubble and not final:
            bar0 = slot.start - slot.start % form.bar
            for b in range(bar0, slot.end, form.bar):
                for t, n, acc in bubble:
                    if slot.start <= b + t < slot.end:
                        out.chord(b + t, min(b + t + n, slot.end), notes, accent=acc)
            continue
        out.chord(slot.start, slot.end, notes, accent=0.8)
    return out
