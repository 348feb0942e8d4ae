"""Melody: motifs that return varied, in phrases that answer each other and close on the tonic.

Each section kind (verse, chorus, ...) has its own one-bar motif: a rhythm (|omega| sets the
notes per bar within the style's density) and a line that moves mostly by scale steps, repeats
some notes, outlines chord thirds and now and then leaps by the geometry's generator interval
12*k/n, its *characteristic leap*. A phrase of four bars is the motif (A), the motif again a
step further along the contour (A'), the motif with a changed ending, or inverted when omega < 0 (B), and a cadence bar
(C) that lands on the supertonic over the dominant (question phrases) or the tonic (answers). Two-bar phrases are A, C.

The geometry inside: phrase j of a section plays variant j mod n/gcd(n, k) (transposed by the
walk around the circle), so larger n takes longer before the melody repeats; the sign of omega
turns the contour up (+) or down (-), an arch at 0; |xi| widens the contour and the register.
Strong-beat notes are nudged onto chord tones. All choices come from the seeded generator.
"""
from __future__ import annotations

import math

import numpy as np

from engine.compose.form import Form
from engine.compose.harmony import absolute, chord_pcs
from engine.compose.notes import NoteList
from engine.compose.rhythm import SIXTEENTH, euclid, onsets_of
from engine.compose.scales import Mode, family_index, walk_degrees
from engine.styles import Style

MAX_NOTES_PER_SECOND = 7.0  #: playability cap on melody density
REPEAT_SHARE = 0.08  #: share of moves that repeat the note
PERIOD_BARS = 4  #: the contour spans a four-bar period (two two-bar phrases, or one four-bar phrase)
MOTIF_TRIES = 8  #: candidate motifs drawn per section kind; the most singable one is kept
SILENT_SECTIONS = ("intro",)


def notes_per_bar(style: Style, form: Form, omega: float) -> int:
    """Melody onsets per bar: the style's density grown by |omega|, capped for playability."""
    quarters = form.bar / 24
    p = round(style.melody.density * quarters * (0.45 + 0.4 * abs(omega)))
    cap = max(1, int(MAX_NOTES_PER_SECOND * form.bar * form.tick))
    return max(1, min(p, form.bar // SIXTEENTH, cap))


def generator_leap(mode: Mode, n: int, k: int) -> int:
    """The characteristic leap in scale degrees: the move whose size is nearest the generator
    interval 12*k/n (a fourth for the pentatonic family, which walks by fifths)."""
    g = family_index(n, k)
    if g == 0:
        g = 5
    size = len(mode.scale)
    best = min(range(1, size), key=lambda d: abs(mode.scale[d] - g))
    return max(1, best)


def _motif_rhythm(pulses: int, style: Style, form: Form, rng: np.random.Generator) -> np.ndarray:
    """Onset ticks within one bar: E(pulses, steps) on 8ths (style unit 8, when they fit) or
    16ths, rotated by a seeded amount, with some onsets left out as rests (never the first)."""
    eighths = form.bar // 12
    steps, unit = (eighths, 12) if style.melody.unit == 8 and pulses <= eighths else (form.bar // 6, 6)
    rot = int(rng.integers(0, max(1, pulses)))
    onsets = onsets_of(euclid(pulses, steps, rotation=rot)) * unit
    keep = rng.random(len(onsets)) >= style.melody.rest
    keep[0] = True
    return np.sort(onsets[keep])


def _motif_line(count: int, style: Style, leap: int, direction: int, reach: int,
                rng: np.random.Generator) -> list[int]:
    """Scale-degree offsets of a motif of `count` notes (first = 0): steps, repeats, thirds and
    the characteristic leap, within `reach` degrees of its start and ending within a step of
    it, so the next bar follows on by step."""
    p_step = style.melody.step
    p_third = max(0.04, 1.0 - p_step - REPEAT_SHARE)
    probs = np.array([p_step, REPEAT_SHARE, p_third, 0.0])
    kinds = rng.choice(4, size=max(0, count - 1), p=probs / probs.sum())
    up = 0.5 + 0.2 * direction
    line = [0]
    for i, kind in enumerate(kinds):
        size = (1, 0, 2, leap)[int(kind)]
        sign = 1 if rng.random() < up else -1
        left = len(kinds) - i - 1  # moves after this one, to come back within a step of 0
        cur = line[-1]
        if abs(cur + sign * size) > 1 + left or abs(cur + sign * size) > reach:
            if abs(cur - sign * size) <= 1 + left and abs(cur - sign * size) <= reach:
                sign = -sign
            else:  # step home
                size, sign = (1, -1 if cur > 0 else 1) if cur else (0, 1)
        line.append(cur + sign * size)
    return line


def _motif_cost(line: list[int], step_share: float) -> float:
    """How far a candidate motif is from a singable one: its share of steps from the style's,
    more than one leap, and an ending away from its start."""
    moves = np.abs(np.diff(line)) if len(line) > 1 else np.zeros(1)
    steps = float(np.mean(moves == 1)) if len(line) > 1 else step_share
    leaps = int(np.sum(moves >= 3))
    return abs(steps - step_share) + 0.3 * max(0, leaps - 1) + 0.6 * abs(line[-1] - line[0])


class _Motif:
    """One section kind's motif: a rhythm (ticks in a bar) and a line (scale-degree offsets)."""

    def __init__(self, rhythm: np.ndarray, line: list[int]):
        self.rhythm = rhythm
        self.line = line


def _contour(u: float, direction: int, span: float) -> int:
    """Contour offset in whole scale degrees at phrase position u (0..1): rising, falling, or an
    arch (omega = 0)."""
    if direction > 0:
        return round(span * u)
    if direction < 0:
        return round(span * (1.0 - u))
    return round(span * 0.7 * math.sin(math.pi * u))


def melody_notes(form: Form, style: Style, mode: Mode, *, tonic: int, extension: int, n: int, k: int,
                 omega: float, xi: float, rng: np.random.Generator, variation: int = 0) -> NoteList:
    """The melody up to the final chord, then the tonic held through it. `variation` draws
    other motif rhythms (the lines come from `rng`, which the spec seeds with it)."""
    size = len(mode.scale)
    direction = int(np.sign(omega))
    leap = generator_leap(mode, n, k)
    cycle = n // math.gcd(n, k)
    walk = walk_degrees(n, k, max(1, cycle), mode)
    lo = style.melody.register[0] - round(0.6 * abs(xi))
    hi = style.melody.register[1] + round(0.6 * abs(xi))
    span = float(min(4, max(2, leap)))  # contour range over a phrase: its return is the leap
    reach = 3 + round(abs(xi) / 3)  # how far a motif may wander from its first note
    lift = round(0.5 * abs(xi))  # energetic sections, and every other period, sit this much higher
    stride = 1 + int(abs(xi) >= 6)  # degrees the contour moves per bar: wider for a deep xi
    scale = np.asarray(mode.scale, np.int64)
    base = lo + ((tonic - lo) % 12)  # the tonic's lowest pitch in the register
    centre_deg = size * round(((lo + hi) / 2 - 3 - base) / 12)  # phrases open on the tonic

    def pitch_of(deg: int) -> int:
        return int(base + scale[deg % size] + 12 * (deg // size))

    pulses = notes_per_bar(style, form, omega)
    motifs: dict[str, _Motif] = {}
    phrase = form.phrase_ticks
    out = NoteList()
    single = len(form.sections) == 1
    for sec in form.sections:
        if sec.name in SILENT_SECTIONS and not single:
            continue
        motif = motifs.get(sec.name)
        if motif is None:
            density = round(pulses * (1.6 if sec.name == "solo" else 1.25 if sec.energy >= 0.85 else 0.8))
            density = max(1, min(form.bar // SIXTEENTH, density // 2 if sec.energy < 0.45 else density))
            # the rhythm depends on |omega|, not its sign (the sign only turns the contour)
            rhythm_rng = np.random.default_rng([n, k, tonic, density, round(abs(omega) * 1000),
                                                round(abs(xi) * 1000), len(motifs), variation])
            rhythm = _motif_rhythm(density, style, form, rhythm_rng)
            candidates = [_motif_line(len(rhythm), style, leap, direction, reach, rng) for _ in range(MOTIF_TRIES)]
            line = min(candidates, key=lambda c: _motif_cost(c, style.melody.step))
            motif = motifs[sec.name] = _Motif(rhythm, line)
        centre = centre_deg + (lift if sec.energy >= 0.85 else 0)
        last: int | None = None
        for j, p0 in enumerate(range(sec.start, sec.end, phrase)):
            variant = j % cycle
            shift = int(walk[variant]) % 3 - 1  # the walk transposes the phrase by -1, 0 or +1
            period_bar = ((p0 - sec.start) // form.bar) % PERIOD_BARS
            if last is None or period_bar == 0:  # a period opens at the base: the way back is the leap
                answer_lift = lift if ((p0 - sec.start) // (PERIOD_BARS * form.bar)) % 2 else 0
                start = centre + shift + _contour(0.0, direction, span) + answer_lift
            else:  # the answering phrase follows on along the contour
                start = last + (direction or -1) * stride
            last = _phrase(out, form, motif, p0, min(p0 + phrase, sec.end), answer=j % 2 == 1,
                           start=start, period_bar=period_bar, direction=direction, stride=stride, size=size,
                           pitch_of=pitch_of, lo=lo, hi=hi, tonic=tonic, mode=mode, extension=extension,
                           variant_rng=np.random.default_rng([variant, len(motif.line), int(p0 == sec.start)]))
    prev = out.pitch[-1] if out.pitch else pitch_of(centre_deg)
    final = prev + ((tonic - prev) % 12)
    if final - prev > 6 and final - 12 >= lo:
        final -= 12
    if form.cadence:
        out.add(form.final_tick, form.end_tick, final, accent=1.0)
    elif out.pitch:
        _pickup(out, form, pitch_of, size)
    return out


def _pickup(out: NoteList, form: Form, pitch_of, size: int) -> None:
    """A loop's last bar leads into its first: when the melody rests through the last beat, a
    pickup note there steps (one scale degree below, else above) into the loop's first note."""
    beat_start = form.end_tick - form.pulse
    if max(out.end) > beat_start or min(out.start) > 0:
        return
    first = out.pitch[int(np.argmin(out.start))]
    degrees = [d for d in range(-3 * size, 4 * size) if pitch_of(d) == first]
    if not degrees:
        return
    below, above = pitch_of(degrees[0] - 1), pitch_of(degrees[0] + 1)
    out.add(beat_start, form.end_tick, below if first - below <= 2 else above, accent=0.85)


def _phrase(out: NoteList, form: Form, motif: _Motif, p0: int, p1: int, *, answer: bool, start: int,
            period_bar: int, direction: int, stride: int, size: int, pitch_of, lo: int, hi: int, tonic: int, mode: Mode,
            extension: int, variant_rng: np.random.Generator) -> int | None:
    """One phrase of bars A, A', B, C (or A, C) from the motif, its first note on scale degree
    `start`, added to `out`; returns the scale degree of its last note (None if it has none)."""
    bars = max(1, -(-(p1 - p0) // form.bar))
    plan = ["A", "A'", "B", "C"] if bars >= 4 else ["A", "C"] if bars >= 2 else ["C"]
    plan = (plan * bars)[:bars] if bars > 4 else plan[:bars]
    ticks: list[int] = []
    degs: list[float] = []
    finals: list[bool] = []
    for b, kind in enumerate(plan):
        t0 = p0 + b * form.bar
        rhythm = motif.rhythm
        line = list(motif.line)
        if kind == "B":
            if direction < 0:
                line = [-d for d in line]  # inversion
            elif len(line) >= 3:  # a changed ending
                step = int(variant_rng.choice([-1, 1]))
                line[-2:] = [line[-3] + step, line[-3] + 2 * step if abs(line[-3] + 2 * step) <= 2 else line[-3]]
        elif kind == "C":
            half = rhythm[rhythm < form.bar // 2]
            if len(half) == 0:
                half = rhythm[:1]
            rhythm = np.append(half, form.bar // 2) if half[-1] < form.bar // 2 else half
            line = line[: len(rhythm) - 1] + [None]  # the landing note, chosen below
            if len(line) >= 3:  # each variant of the cycle approaches the landing its own way
                line[-2] = line[-2] + int(variant_rng.integers(-1, 2))
        # bar b sits one step further along the contour per bar of the four-bar period (motifs end
        # where they began, so the move into each bar is a step; the way back is the leap)
        pos = period_bar + b
        if direction:
            offset = start + direction * b * stride
        else:  # an arch over the period
            offset = start + min(pos, PERIOD_BARS - 1 - pos) - min(period_bar, PERIOD_BARS - 1 - period_bar)
        for i, t in enumerate(rhythm.tolist()):
            if t0 + t >= p1:
                break
            ticks.append(t0 + t)
            if line[i] is None:
                target = 0 if answer else 1 % size  # tonic, or the open supertonic (over V)
                near = (degs[-1] if degs else start) + direction  # land along the contour
                octave = round((near - target) / size)
                degs.append(target + octave * size)
            else:
                degs.append(offset + line[i])
            finals.append(kind == "C" and i == len(rhythm) - 1)
    if not ticks:
        return None
    deg_arr = np.rint(np.asarray(degs)).astype(np.int64)
    for i, t in enumerate(ticks):  # downbeats sit on chord tones
        if t % form.bar == 0 and not finals[i]:
            slot = next((s for s in form.slots if s.start <= t < s.end), form.slots[-1])
            chord = set(absolute(chord_pcs(mode, slot.degree, extension=extension), tonic))
            if pitch_of(int(deg_arr[i])) % 12 not in chord:
                prev = int(deg_arr[i - 1]) if i else int(deg_arr[i])
                for d in (1, -1):
                    if pitch_of(int(deg_arr[i]) + d) % 12 in chord and abs(int(deg_arr[i]) + d - prev) == 1:
                        deg_arr[i] += d
                        break
    for _ in range(2 * size):  # a phrase out of the register is sequenced down (or up) by degrees
        if pitch_of(int(deg_arr.max())) > hi:
            deg_arr -= 1
        elif pitch_of(int(deg_arr.min())) < lo:
            deg_arr += 1
        else:
            break
    ends = ticks[1:] + [p1]
    for t, e, d, fin in zip(ticks, ends, deg_arr.tolist(), finals):
        end = (t - t % form.bar) + form.bar - SIXTEENTH if fin else min(e, t + 2 * form.pulse)
        out.add(t, max(t + SIXTEENTH, min(end, p1)), pitch_of(int(d)), accent=1.05 if t % form.bar == 0 else 1.0)
    return int(deg_arr[-1])


def counter_notes(melody: NoteList, form: Form, mode: Mode, *, tonic: int, sections: set[str]) -> NoteList:
    """A second line a diatonic third below the melody, on its strong-beat notes, in `sections`."""
    scale = sorted((tonic + p) % 12 for p in mode.scale)
    out = NoteList()
    for s, e, p in zip(melody.start, melody.end, melody.pitch):
        if form.section_at(s).name not in sections or s % form.pulse:
            continue
        pcs = [q for q in range(p - 5, p - 2) if q % 12 in scale]
        if pcs:
            out.add(s, e, pcs[0], accent=0.85)
    return out


def arpeggio_notes(form: Form, mode: Mode, *, tonic: int, extension: int, omega: float,
                   sections: set[str]) -> NoteList:
    """Chord tones broken in 8ths high above the harmony (the texture a large n adds)."""
    out = NoteList()
    step = 6 if abs(omega) >= 5 else 12
    i = 0
    for slot in form.slots[:-1]:
        if form.sections[slot.section].name not in sections:
            continue
        chord = sorted(72 + (pc - 72) % 12 for pc in absolute(chord_pcs(mode, slot.degree, extension=extension), tonic))
        tones = chord if omega >= 0 else chord[::-1]
        for t in range(slot.start, slot.end, step):
            out.add(t, min(t + step, slot.end), tones[i % len(tones)], accent=0.7)
            i += 1
    return out


def timpani_notes(form: Form, mode: Mode, *, tonic: int) -> NoteList:
    """Timpani: tonic and dominant on the downbeats of energetic sections, a roll into each."""
    out = NoteList()
    root = 41 + (tonic - 41) % 12
    fifth = root + (mode.scale[4 % len(mode.scale)] if len(mode.scale) > 4 else 7) - 12
    if fifth < 36:
        fifth += 12
    for sec in form.sections:
        if sec.energy < 0.65:
            continue
        if sec.start >= form.bar:
            for t in range(sec.start - form.pulse, sec.start, 3):
                out.add(t, t + 3, root, accent=0.5 + 0.4 * (t - sec.start + form.pulse) / form.pulse)
        for b in range(sec.start, sec.end, form.bar):
            out.add(b, b + form.pulse, root, accent=1.0)
            if b + form.bar // 2 < sec.end:
                out.add(b + form.bar // 2, b + form.bar // 2 + form.pulse, fifth, accent=0.8)
    if form.cadence:
        out.add(form.final_tick, form.end_tick, root, accent=1.0)
    return out
