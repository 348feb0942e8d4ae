"""`loop: true`: whole bars, no intro, fade or final cadence, and a file that repeats seamlessly.

The seam is judged as a listener's tools would: the WAV is played twice and, at the join, the
sample discontinuity, the 20 ms level and the spectral flux must lie within the range the
piece shows everywhere else (tests/musicanalysis.seam). The same check run on the normal render
of the same request fails, so the check can tell a seam from none.
"""
from __future__ import annotations

import io

import mido
import numpy as np
import pytest
import soundfile as sf

from engine.compose import params_to_score
from engine.compose.form import make_form
from engine.midi import RESOLUTION
from engine.presets import default_presets_path, load_presets
from engine.render import render
from engine.resolve import resolve_request
from engine.spec import RenderSpec, loop_bars
from engine.styles import get_style
from tests.musicanalysis import seam

SR = 44100
LEVEL_TOLERANCE_DB = 1.0  #: the join's 20 ms level may sit this far below the quietest elsewhere
CATALOG = load_presets(default_presets_path())


def loop_spec(preset: str, seconds: float = 30.0, **extra) -> RenderSpec:
    return resolve_request(catalog=CATALOG, preset=preset, duration_seconds=seconds, loop=True, **extra)


def seamless(y: np.ndarray) -> dict[str, bool]:
    """Each seam measure: is the join within the piece's own range?"""
    found = seam(y, SR)
    at, lo, hi = found["level"]
    return {"discontinuity": found["discontinuity"][0] <= found["discontinuity"][2],
            "level": lo - LEVEL_TOLERANCE_DB <= at <= hi,
            "flux": found["flux"][0] <= found["flux"][2]}


def wav_samples(data: bytes) -> np.ndarray:
    y, sr = sf.read(io.BytesIO(data), dtype="float32")
    assert sr == SR
    return y


# -- the length: whole bars ---------------------------------------------------------------
@pytest.mark.parametrize(("tempo", "asked", "bars"), [
    (120.0, 30.0, 15), (120.0, 30.9, 15), (120.0, 31.0, 16), (97.0, 20.0, 8), (300.0, 1.0, 1),
    (40.0, 300.0, 50),
])
def test_loop_length_is_whole_bars_at_the_tempo(tempo, asked, bars):
    spec = RenderSpec(n=24, k=10, omega=1.0, xi=1.0, psi=0.0, lock_psi_tau=True, tempo=tempo,
                      duration_seconds=asked, style="house", loop=True)
    bar = 4 * 60.0 / tempo
    assert spec.bar_seconds == pytest.approx(bar)
    assert spec.seconds == pytest.approx(bars * bar)
    assert spec.duration_seconds == round(bars * bar, 3)
    assert spec.frames == round(bars * bar * SR)


@pytest.mark.parametrize(("style", "quarters"), [("lullaby", 3.0), ("celtic", 3.0), ("house", 4.0)])
def test_loop_length_follows_the_styles_meter(style, quarters):
    spec = RenderSpec(n=24, k=10, omega=1.0, xi=1.0, psi=0.0, lock_psi_tau=True, tempo=90.0,
                      duration_seconds=20.0, style=style, loop=True)
    bar = quarters * 60.0 / 90.0  # 3/4 and 6/8 bars are three quarter notes long
    assert spec.seconds == pytest.approx(loop_bars(20.0, bar) * bar)


def test_loop_bars_rule():
    assert loop_bars(9.0, 2.0) == 5  # halves round up
    assert loop_bars(8.9, 2.0) == 4
    assert loop_bars(0.5, 2.0) == 1  # at least one bar
    assert loop_bars(300.0, 7.0) == 42  # 43 bars would pass 300 s


def test_loop_ids():
    plain = loop_spec("house").with_(loop=False)
    assert RenderSpec.from_dict(plain.to_dict()).id == plain.id
    assert "loop" not in plain.to_dict()  # false is the default: left out of the id
    looped = loop_spec("house")
    assert looped.id != plain.id and looped.to_dict()["loop"] is True
    assert loop_spec("house", 30.4).id == loop_spec("house", 29.6).id  # both round to the same bars
    assert RenderSpec.from_dict(looped.to_dict()) == looped  # rounding is idempotent


def test_loop_rejects_non_booleans():
    from engine.errors import ParameterError
    with pytest.raises(ParameterError) as err:
        RenderSpec(n=24, k=10, omega=1.0, xi=1.0, psi=0.0, lock_psi_tau=True, loop=1)
    assert err.value.field == "loop"


# -- the form: no intro, outro or cadence; the end leads to the start ---------------------
@pytest.mark.parametrize("preset", ["house", "sad", "epic", "jazz-cafe"])
def test_loop_form_has_no_intro_outro_or_final_chord(preset):
    spec = loop_spec(preset, 60.0)
    style = get_style(spec.style_id)
    form = make_form(style, tempo=spec.tempo, duration=spec.seconds, omega=spec.omega, meter=style.meter, loop=True)
    names = [s.name for s in form.sections]
    assert "intro" not in names and "outro" not in names
    assert not form.cadence and form.end_tick == form.n_bars * form.bar
    assert form.slots[0].degree == 0  # the first bar is home
    assert form.slots[-1].degree != 0  # the last chord leads back to it
    normal = make_form(style, tempo=spec.tempo, duration=spec.seconds, omega=spec.omega, meter=style.meter)
    assert normal.cadence and normal.slots[-1].degree == 0


def test_loop_notes_fill_the_loop_and_end_by_its_end():
    spec = loop_spec("techno", 20.0)
    score = params_to_score(spec)
    assert score.loop and score.duration == pytest.approx(spec.seconds)
    ends = [n.end for p in score.parts for n in p.notes]
    starts = [n.start for p in score.parts for n in p.notes]
    assert max(ends) <= spec.seconds + 1e-9 and min(starts) >= 0.0
    assert max(ends) > spec.seconds - spec.bar_seconds / 4  # sounding into the last beat


# -- the audio: seamless when played twice ------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["techno", "lofi", "sad", "epic", "bossa-nova", "reggae", "celtic",
                                    "ambient", "chiptune", "rock"])
def test_loop_plays_seamlessly_twice(preset):
    spec = loop_spec(preset)
    y = wav_samples(render(spec))
    assert len(y) == spec.frames  # sample-exact
    assert seamless(y) == {"discontinuity": True, "level": True, "flux": True}
    normal = wav_samples(render(spec.with_(loop=False)))
    assert not all(seamless(normal).values())  # the check hears the seam of a normal piece


def test_loop_has_no_fades():
    y = wav_samples(render(loop_spec("house", 8.0)))
    edge = int(0.005 * SR)
    start, end = np.abs(y[:edge]).max(), np.abs(y[-edge:]).max()
    assert start > 0.02 and end > 0.02  # sound at both ends: nothing faded to silence


def test_loop_is_deterministic():
    spec = loop_spec("lofi", 6.0)
    assert render(spec) == render(spec)
    assert render(spec.with_(format="mp3")) == render(spec.with_(format="mp3"))


def test_a_loop_mp3_decodes_gapless_to_exactly_the_loop():
    """The MP3 of a loop carries a LAME Info tag (encoder delay 576, the padding): a gapless
    decoder (libsndfile's mpg123 here) returns exactly the loop's frames, lined up with the
    WAV, so it too comes round without a gap. A normal MP3 keeps its 1105 samples of delay."""
    spec = loop_spec("house", 8.0)
    wav = wav_samples(render(spec))
    mp3, _ = sf.read(io.BytesIO(render(spec.with_(format="mp3"))), dtype="float32")
    assert len(mp3) == spec.frames
    lag = np.argmax(np.correlate(mp3[:4096, 0], wav[:8192, 0], "full")) - 8191
    assert lag == 0
    assert np.sqrt(np.mean(np.square(mp3 - wav))) < 0.02  # the codec's error, not a shift
    found = seam(mp3, SR)
    assert found["discontinuity"][0] <= found["discontinuity"][2] and found["flux"][0] <= found["flux"][2]
    plain, _ = sf.read(io.BytesIO(render(spec.with_(format="mp3", loop=False))), dtype="float32")
    assert len(plain) > spec.with_(loop=False).frames + 1000  # no tag: delay and padding decoded


# -- the MIDI: markers at the loop's ends -------------------------------------------------
def test_loop_midi_marks_the_loop_and_ends_on_the_bar():
    spec = loop_spec("house", 16.0).with_(format="midi")
    mid = mido.MidiFile(file=io.BytesIO(render(spec)))
    bars = loop_bars(16.0, spec.bar_seconds)
    end = bars * 4 * RESOLUTION
    markers, t = {}, 0
    for msg in mid.tracks[0]:
        t += msg.time
        if msg.type == "marker":
            markers[msg.text] = t
    assert markers == {"loopStart": 0, "loopEnd": end}
    for track in mid.tracks:
        assert sum(m.time for m in track) <= end  # no event after the loop's end
    normal = mido.MidiFile(file=io.BytesIO(render(spec.with_(loop=False))))
    assert not any(m.type == "marker" for m in normal.tracks[0])
