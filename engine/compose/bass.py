"""The bass line: one of the style's patterns over each harmonic slot's root.

Patterns (positions in ticks within a 4/4 bar of 96; 3/4 and 6/8 bars are 72):
    held, pedal   one note per chord (pedal: always the tonic)
    root-fifth    root on 1, the chord's fifth on 3 (on 4 in 6/8)
    waltz         root on 1, a quarter long (the comping plays 2 and 3)
    walking       a quarter-note walk through the scale to the next chord's root
    octave-pump   8ths alternating root and octave (disco)
    offbeat       8ths on the off-beats (trance, house)
    eighths       driving root 8ths (rock, metal)
    one-drop      reggae: the downbeat left empty, round notes after it
    808           long sub notes on the kick pattern with glides between pitches (trap, DnB)
    acid          a 16th-step sequence with rests, octaves and accents (techno)
    bossa         root (dotted quarter) and fifth, the bossa nova two-beat cell
    funk          syncopated 16ths with octave pops and ghost notes
    arp           8th-note sequencer pattern root, root, octave (synthwave)
Quiet sections (intro, breakdown) hold one note per chord. Every pitch is a chord tone or a
scale step, so the bass never leaves the scale. In the symmetric scale families (whole-tone,
octatonic, ...: no diatonic pull to a tonic) the bass holds the tonic under every chord, so
the key is still heard.
"""
from __future__ import annotations

import numpy as np

from engine.compose.form import Form
from engine.compose.harmony import absolute, chord_pcs
from engine.compose.notes import NoteList
from engine.compose.scales import Mode
from engine.styles import Style

LIGHT_ENERGY = 0.75  #: below this (verses, builds) busy patterns play at half the rate
BASS_LOW = 36  #: MIDI pitch: roots sit in [BASS_LOW, BASS_LOW + 12)
SUB_LOW = 33  #: MIDI pitch: lower register for 808 and sub basses

#: pattern -> list of (tick in a 96-tick bar, token, length in ticks or 0 = until the next note)
#: tokens: r root, f fifth, o octave, s seventh (or the scale degree below the octave), a approach
_CELLS = {
    "root-fifth": [(0, "r", 0), (48, "f", 0)],
    "octave-pump": [(t, "ro"[i % 2], 10) for i, t in enumerate(range(0, 96, 12))],
    "offbeat": [(t, "r", 10) for t in (12, 36, 60, 84)],
    "eighths": [(t, "r", 11) for t in range(0, 96, 12)],
    "one-drop": [(12, "r", 10), (24, "r", 10), (36, "f", 20), (60, "o", 10), (72, "r", 20)],
    "bossa": [(0, "r", 34), (36, "f", 12), (48, "f", 34), (84, "r", 12)],
    "funk": [(0, "r", 8), (18, "o", 5), (36, "r", 5), (42, "f", 8), (60, "r", 5), (72, "s", 8), (84, "o", 5)],
    "arp": [(t, tok, 10) for t, tok in zip(range(0, 96, 12), "rrorrooro")],
    "waltz": [(0, "r", 22)],
}
_ACCENT = {"r": 1.0, "f": 0.9, "o": 0.85, "s": 0.8, "a": 0.85}


def _place(pc: int, low: int) -> int:
    return low + (pc - low) % 12


def _scale_pitches(mode: Mode, tonic: int, lo: int, hi: int) -> np.ndarray:
    pcs = {(tonic + p) % 12 for p in mode.scale}
    return np.array([p for p in range(lo, hi + 1) if p % 12 in pcs], np.int64)


def _cell(style: Style, form: Form) -> list[tuple[int, str, int]]:
    """The bar pattern, scaled to the bar length (3/4 and 6/8 bars are 72 ticks)."""
    cell = _CELLS.get(style.bass, [(0, "r", 0)])
    if form.bar == 96:
        return cell
    scale = form.bar / 96
    return sorted({(int(t * scale) // 6 * 6, tok, int(n * scale)) for t, tok, n in cell if t * scale < form.bar})


def _acid_cell(rng: np.random.Generator) -> list[tuple[int, str, int]]:
    """A seeded 16-step acid sequence: mostly roots, some octaves and sevenths, some rests."""
    tokens = rng.choice(["r", "r", "r", "o", "s", "f", "-"], size=16, p=[0.3, 0.15, 0.1, 0.17, 0.08, 0.08, 0.12])
    tokens[0] = "r"
    return [(i * 6, str(tok), 5) for i, tok in enumerate(tokens) if tok != "-"]


def bass_notes(form: Form, style: Style, mode: Mode, *, tonic: int, extension: int, omega: float,
               xi: float, kick_ticks: np.ndarray, rng: np.random.Generator) -> NoteList:
    """The bass line up to the final chord, then the tonic under it."""
    low = SUB_LOW if style.bass in ("808",) else BASS_LOW
    if abs(xi) >= 8:
        low -= 3  # a deeper register for a wide geometry
    pattern = style.bass
    cell = _acid_cell(rng) if pattern == "acid" else _cell(style, form)
    scale = _scale_pitches(mode, tonic, low - 2, low + 19)
    pedal = mode.family not in ("diatonic", "pentatonic")  # symmetric scales: a tonic pedal anchors the key
    out = NoteList()
    slots = form.slots
    prev_pitch = None
    changes = 0
    for i, slot in enumerate(slots):
        chord = absolute(chord_pcs(mode, slot.degree, extension=extension), tonic)
        root_pc = tonic if pattern == "pedal" or pedal else chord[0]
        root = _place(root_pc, low)
        fifth = root + ((chord[min(2, len(chord) - 1)] - root) % 12)
        seventh = root + ((chord[3] - root) % 12) if len(chord) > 3 else root + 10 if (root + 10) % 12 in scale % 12 else root + 12
        tones = {"r": root, "f": fifth if fifth - root <= 7 else fifth - 12, "o": root + 12, "s": seventh}
        if root_pc != chord[0]:  # a pedal: the other tokens stay on the tonic too
            tones = {"r": root, "f": root + 12, "o": root + 12, "s": root}
        energy = form.sections[slot.section].energy
        if slot.start >= form.final_tick:
            out.add(slot.start, slot.end, root, accent=1.0)
            break
        if pattern in ("held", "pedal") or energy < 0.4:
            bars = range(slot.start, slot.end, form.bar) if pattern == "pedal" else [slot.start]
            for b in bars:
                out.add(b, min(b + form.bar, slot.end), root, accent=0.9)
            prev_pitch = root
            continue
        if pattern == "walking":
            nxt = slots[i + 1] if i + 1 < len(slots) else slot
            nxt_root = _place(absolute(chord_pcs(mode, nxt.degree, extension=0), tonic)[0], low)
            beats = list(range(slot.start, slot.end, form.pulse))
            line = _walk(root, nxt_root, len(beats), scale, rng)
            for b, p in zip(beats, line):
                out.add(b, min(b + form.pulse - 2, slot.end), p, accent=1.0 if b == slot.start else 0.85)
            prev_pitch = line[-1]
            continue
        if pattern == "808":
            hits = sorted({int(t) for t in kick_ticks if slot.start <= t < slot.end} | {slot.start})
            for j, h in enumerate(hits):
                end = hits[j + 1] if j + 1 < len(hits) else slot.end
                pitch = root + (12 if j == len(hits) - 1 and len(hits) > 2 and rng.random() < 0.3 else 0)
                glide = 0
                if prev_pitch is not None and prev_pitch != pitch:
                    changes += 1
                    if changes % 2 == 1:
                        glide = int(np.clip(prev_pitch - pitch, -12, 12))
                out.add(h, end, pitch, accent=1.0 if j == 0 else 0.9, glide=glide)
                prev_pitch = pitch
            continue
        hits = []
        for bar0 in range(slot.start - slot.start % form.bar, slot.end, form.bar):
            hits += [(bar0 + t, tok, n) for t, tok, n in cell if slot.start <= bar0 + t < slot.end]
        if not hits or (hits[0][0] != slot.start and pattern not in ("one-drop", "offbeat")):
            hits.insert(0, (slot.start, "r", 0))
        if energy < LIGHT_ENERGY and len(cell) >= 4 and pattern not in ("one-drop", "funk"):
            hits = hits[::2]  # verses and builds play the pattern at half the rate
        for j, (h, tok, n) in enumerate(hits):
            nxt = hits[j + 1][0] if j + 1 < len(hits) else slot.end
            end = min(nxt, h + n) if n else nxt
            out.add(h, end, tones[tok], accent=_ACCENT[tok] * (1.05 if h % form.bar == 0 else 1.0))
            prev_pitch = tones[tok]
    return out


def _walk(root: int, target: int, beats: int, scale: np.ndarray, rng: np.random.Generator) -> list[int]:
    """A walking line of `beats` quarter notes from `root` heading for `target` (the next root):
    chord-tone start, scale steps toward the target, the last note a step from it."""
    if beats <= 1:
        return [root]
    idx = int(np.argmin(np.abs(scale - root)))
    goal = int(np.argmin(np.abs(scale - target)))
    line = [root]
    for b in range(1, beats):
        left = beats - b
        if left == 1:  # approach the next root from a step above or below
            idx = goal + (1 if idx > goal else -1)
        else:
            direction = 1 if goal > idx else -1 if goal < idx else (1 if rng.random() < 0.5 else -1)
            idx += direction * (2 if rng.random() < 0.25 else 1)
        idx = int(np.clip(idx, 0, len(scale) - 1))
        line.append(int(scale[idx]))
    return line
