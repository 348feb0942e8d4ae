"""format "stems": a ZIP of one WAV per voice, the MIDI and a manifest; the stems sum to the bus."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import soundfile as sf

from engine.compose import params_to_score
from engine.render import render, render_to_file
from engine.spec import RenderSpec
from engine.synth import score_to_bus, score_to_samples
from engine.synth.stems import VINYL, score_to_stems, stem_names, stem_roles

SECONDS = 6.0
GEOMETRY = {"n": 24, "k": 7, "omega": 1.0, "xi": 1.0, "psi": 1.0, "lock_psi_tau": True}


def stems_spec(style: str, **changes) -> RenderSpec:
    return RenderSpec(**{**GEOMETRY, **changes}, duration_seconds=SECONDS, style=style, format="stems")


@pytest.fixture(scope="module")
def lofi() -> tuple[RenderSpec, bytes]:
    """Lo-fi: drums, several voices, tape and vinyl crackle (a stem of its own)."""
    spec = stems_spec("lofi")
    return spec, render(spec)


def read_zip(data: bytes) -> tuple[zipfile.ZipFile, dict]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return archive, json.loads(archive.read("manifest.json"))


def read_wav(archive: zipfile.ZipFile, name: str) -> tuple[np.ndarray, sf._SoundFileInfo]:
    raw = archive.read(name)
    info = sf.info(io.BytesIO(raw))
    samples, _ = sf.read(io.BytesIO(raw), dtype="int16")
    return samples, info


def test_zip_contents_match_the_manifest(lofi):
    spec, data = lofi
    archive, manifest = read_zip(data)
    assert archive.testzip() is None
    assert archive.namelist() == manifest["files"]
    assert manifest["files"][-1] == "manifest.json" and manifest["midi"] in manifest["files"]
    assert [v["file"] for v in manifest["voices"]] == [f"stems/{v['role']}.wav" for v in manifest["voices"]]
    assert set(manifest["files"]) == {"manifest.json", manifest["midi"], *(v["file"] for v in manifest["voices"])}
    assert manifest["frames"] == spec.frames and manifest["sample_rate"] == 44100
    assert manifest["tempo"] == spec.tempo and manifest["style"] == "lofi"
    assert manifest["key"] == spec.musical_key.name and manifest["job_id"] == spec.id
    gain = manifest["gain"]
    assert gain["master_gain_linear"] == pytest.approx(10 ** (gain["master_gain_db"] / 20), rel=1e-5)
    assert manifest["limiter"]["max_reduction_db"] >= 0.0 and manifest["limiter"]["note"]
    for voice in manifest["voices"]:
        samples, info = read_wav(archive, voice["file"])
        assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
        assert samples.shape == (spec.frames, 2)  # every stem is exactly the piece's length
        assert np.abs(samples).max() > 0  # each stem holds its voice
        assert voice["instruments"]
        if voice["role"] != VINYL:  # (the crackle is a bus effect, not a GM instrument)
            assert voice["programs"] and len(voice["instruments"]) == len(voice["programs"])
    assert {e.date_time for e in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_one_stem_per_role_present(lofi):
    spec, data = lofi
    _, manifest = read_zip(data)
    score = params_to_score(spec)
    present = [p.name for p in score.parts if p.notes]
    roles = [v["role"] for v in manifest["voices"]]
    assert len(roles) == len(set(roles))
    assert set(roles) == set(present) | {VINYL}  # lo-fi's crackle is its own stem
    assert "drums" in roles and "bass" in roles and "melody" in roles
    drums = next(v for v in manifest["voices"] if v["role"] == "drums")
    assert drums["is_drum"] and drums["programs"] == [p.program for p in score.parts if p.is_drum]


def test_a_style_without_drums_has_no_drums_stem():
    spec = stems_spec("piano-ballad", lock_psi_tau=False)
    _, manifest = read_zip(render(spec))
    roles = [v["role"] for v in manifest["voices"]]
    assert "drums" not in roles and VINYL not in roles
    assert roles == stem_roles(params_to_score(spec)) and "melody" in roles


def test_midi_inside_is_the_midi_format(lofi):
    spec, data = lofi
    archive, manifest = read_zip(data)
    assert archive.read(manifest["midi"]) == render(spec.with_(format="midi"))


def test_same_spec_same_bytes(lofi, tmp_path):
    spec, data = lofi
    path = tmp_path / "again.zip"
    assert render_to_file(spec, str(path)) == len(data)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.zip"]  # no scratch files left


@pytest.mark.parametrize(("style", "changes"), [
    ("lofi", {}), ("metal", {}), ("piano-ballad", {"lock_psi_tau": False}), ("jazz", {"xi": 6.0}),
    ("house", {"xi": 6.0}),
])
def test_stems_sum_to_the_bus_before_the_limiter(style, changes):
    """lofi: tape and vinyl; metal: drive (a nonlinear bus process); jazz: the limiter acts;
    house: the kick stem alone would pass full scale, so every stem gets the same headroom."""
    score = params_to_score(stems_spec(style, **changes))
    bus, mastered = score_to_bus(score)
    total = np.zeros_like(bus)

    def add(outs: np.ndarray, a: int) -> None:
        total[a:a + outs.shape[2]] += outs.sum(axis=0).T

    written = np.zeros(bus.shape, np.int64)
    at = dict.fromkeys(range(len(stem_names(score))), 0)
    loudest = [0]

    def keep(g: int, y: np.ndarray) -> None:  # the 16-bit windows, summed
        assert y.dtype == np.int16 and y.flags.c_contiguous
        written[at[g]:at[g] + len(y)] += y
        at[g] += len(y)
        loudest[0] = max(loudest[0], int(np.abs(y).max()))

    stems = score_to_stems(score, keep, on_window=add)
    assert set(at.values()) == {len(bus)}  # every stem is the piece's length
    assert abs(stems.mastered.gain_db - mastered.gain_db) < 1e-4  # the full mix's master gain
    if style == "house":
        assert stems.headroom < 1.0
    else:
        assert stems.headroom == 1.0  # most pieces: the stems sum to the bus itself
    assert np.abs(total / stems.headroom - bus).max() < 1e-4  # float32, full scale 1.0
    assert np.abs(written / 32767 / stems.headroom - bus).max() < len(stems.stems) * 0.5 / 32767 + 1e-4
    assert max(s.peak for s in stems.stems) <= 10 ** (-0.1 / 20) + 1e-6
    assert loudest[0] < 32767  # no stem clips in 16 bits
    # the full mix is this bus through the limiter: equal where it did not act
    limited = score_to_samples(score)
    assert np.abs(bus).max() * stems.headroom == pytest.approx(stems.sum_peak, abs=1e-4)
    if style == "jazz":
        assert mastered.limiter_db > 0.1 and np.abs(limited - bus).max() > 1e-3  # it did act here
    reduction = 1.0 - 10 ** (-mastered.limiter_db / 20)
    assert np.abs(limited - bus).max() <= np.abs(bus).max() * reduction + 1e-4


def test_each_stem_is_its_voice():
    """Stems are not copies of the mix: the drums and the bass stems are different signals."""
    spec = stems_spec("metal")
    archive, manifest = read_zip(render(spec))
    voices = {v["role"]: v for v in manifest["voices"]}
    drums = read_wav(archive, voices["drums"]["file"])[0].astype(np.float64)
    bass = read_wav(archive, voices["bass"]["file"])[0].astype(np.float64)
    assert abs(np.corrcoef(drums[:, 0], bass[:, 0])[0, 1]) < 0.5
    assert voices["drums"]["is_drum"] and not voices["bass"]["is_drum"]


def test_cli_writes_the_same_zip(tmp_path, capsys):
    from engine.cli import main
    from engine.presets import default_presets_path, load_presets
    from engine.resolve import resolve_request

    out = tmp_path / "calm.zip"
    assert main(["render", "--preset", "calm", "--duration", "3", "--format", "stems", "--output", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    spec = resolve_request(catalog=load_presets(default_presets_path()), preset="calm", duration_seconds=3,
                           format="stems")
    assert report["format"] == "stems" and report["bytes"] == out.stat().st_size
    assert out.read_bytes() == render(spec)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calm.zip"]  # no scratch left beside it


@pytest.mark.parametrize("style", ["lofi", "metal", "house"])
def test_loop_stems_sum_to_the_looped_bus_and_loop_themselves(style):
    """A loop's stems each carry their own overhang folded onto the start (lofi: tape and vinyl
    too; metal: drive; house, one 2 s bar: the 4 s overhang wraps round the loop twice), so summed they
    are the looped bus before the limiter, and the sum comes round without a seam."""
    from engine.synth.loop import LOOP_TAIL
    from tests.musicanalysis import seam

    spec = stems_spec(style, loop=True).with_(duration_seconds=1.5 if style == "house" else SECONDS)
    score = params_to_score(spec)
    assert score.loop and (style != "house" or spec.seconds <= LOOP_TAIL / 2)
    bus, _ = score_to_bus(score)
    total = np.zeros_like(bus)

    def add(outs: np.ndarray, a: int) -> None:
        total[a:a + outs.shape[2]] += outs.sum(axis=0).T

    stems = score_to_stems(score, lambda g, y: None, on_window=add)
    assert stems.frames == spec.frames == len(bus)
    assert np.abs(total / stems.headroom - bus).max() < 1e-4
    if style != "house":  # (a loop of under two seconds has too little "elsewhere" to compare with)
        found = seam(total, 44100, margin=0.5)
        assert found["discontinuity"][0] <= found["discontinuity"][2]
        assert found["flux"][0] <= found["flux"][2]


def test_a_loop_as_stems_is_a_zip_of_the_loop():
    spec = stems_spec("techno", loop=True)
    archive, manifest = read_zip(render(spec))
    assert manifest["frames"] == spec.frames  # whole bars, like the loop's WAV
    samples, _ = read_wav(archive, manifest["voices"][0]["file"])
    assert len(samples) == spec.frames
    assert archive.read("score.mid") == render(spec.with_(format="midi"))  # with its loop markers
    assert b"loopEnd" in archive.read("score.mid")
