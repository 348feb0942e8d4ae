"""`python -m engine`: the documented interface, one-line errors, and the same bytes as the library."""
import json
import subprocess
import sys

import pretty_midi
import pytest
import soundfile

from engine.cli import main
from engine.presets import default_presets_path, load_presets
from engine.render import render
from engine.resolve import resolve_request
from engine.styles import style_catalog


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=120, check=False)


def test_render_wav_with_all_geometry_flags(tmp_path):
    out = tmp_path / "piece.wav"
    code = main(["render", "--n", "24", "--k", "10", "--omega", "2", "--xi", "-1.5", "--psi", "1.0472",
                 "--no-lock-psi-tau", "--tempo", "90", "--duration", "2", "--format", "wav", "--output", str(out)])
    assert code == 0
    info = soundfile.info(str(out))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (44100, 2, 88200, "PCM_16")


def test_preset_flags_override_and_output_matches_library(tmp_path, capsys):
    catalog = load_presets(default_presets_path())
    preset = next(iter(catalog))
    out = tmp_path / "p.mid"
    assert main(["render", "--preset", preset.id, "--tempo", "77", "--duration", "3", "--format", "midi",
                 "--output", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["preset"] == preset.id and report["tempo"] == 77.0 and report["params"] == preset.params
    spec = resolve_request(catalog=catalog, preset=preset.id, tempo=77, duration_seconds=3, format="midi")
    assert out.read_bytes() == render(spec)
    assert pretty_midi.PrettyMIDI(str(out)).get_tempo_changes()[1][0] == pytest.approx(77.0)


def test_prompt_flag_reports_what_it_resolved_to(tmp_path, capsys):
    out = tmp_path / "c.mid"
    assert main(["render", "--prompt", "tense chase scene", "--duration", "2", "--format", "midi",
                 "--output", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["preset"] and set(report["params"]) == {"n", "k", "omega", "xi", "psi", "lock_psi_tau"}


@pytest.mark.parametrize("args, words", [
    (["render", "--n", "10", "--k", "6", "--output", "x.wav"], "params.k"),
    (["render", "--tempo", "500", "--output", "x.wav"], "tempo"),
    (["render", "--format", "ogg", "--output", "x.wav"], "invalid choice"),
    (["render", "--n", "ten", "--output", "x.wav"], "invalid int"),
    (["render", "--preset", "no-such-preset", "--output", "x.wav"], "no-such-preset"),
    (["render", "--n", "12"], "--output"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_flags_exit_nonzero_with_one_line(tmp_path, args, words):
    result = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not (tmp_path / "x.wav").exists()


def test_presets_json_lists_objects_with_ids():
    result = run_cli("presets", "--json")
    assert result.returncode == 0
    presets = json.loads(result.stdout)
    assert isinstance(presets, list) and len(presets) >= 12
    assert all(isinstance(p, dict) and p["id"] for p in presets)


def test_style_flag_overrides_the_preset_style(tmp_path, capsys):
    catalog = load_presets(default_presets_path())
    out = tmp_path / "s.mid"
    assert main(["render", "--preset", "lofi", "--style", "jazz", "--duration", "2", "--format", "midi",
                 "--output", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    spec = resolve_request(catalog=catalog, preset="lofi", style="jazz", duration_seconds=2, format="midi")
    assert report["style"] == "jazz" and report["preset"] == "lofi" and report["job_id"] == spec.id
    plain = resolve_request(catalog=catalog, preset="lofi", duration_seconds=2, format="midi")
    assert plain.style_id == "lofi" and plain.id != spec.id
    assert out.read_bytes() == render(spec)


def test_without_style_flag_the_report_names_the_style_used(tmp_path, capsys):
    out = tmp_path / "g.mid"
    assert main(["render", "--n", "24", "--omega", "0.5", "--no-lock-psi-tau", "--duration", "1",
                 "--format", "midi", "--output", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["style"] == "ambient"  # the geometry rule


def test_unknown_style_flag_is_one_line_listing_the_ids(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine", "render", "--prompt", "calm", "--style", "polka",
                             "--output", "x.mid"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "polka" in lines[0] and "piano-ballad" in lines[0]
    assert not (tmp_path / "x.mid").exists()


def test_styles_lists_every_style(capsys):
    assert main(["styles", "--json"]) == 0
    styles = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in styles] == style_catalog().ids()
    assert styles == [s.summary() for s in style_catalog()]
    assert main(["styles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(styles) and lines[0].split()[0] == styles[0]["id"]
    jazz = next(line for line in lines if line.startswith("jazz "))
    assert "swing" in jazz and "90-180 BPM" in jazz


def test_render_takes_a_key_and_a_variation(tmp_path):
    out = tmp_path / "take.mid"
    result = subprocess.run([sys.executable, "-m", "engine", "render", "--preset", "house", "--key", "A minor",
                             "--variation", "3", "--duration", "2", "--format", "midi", "--output", str(out)],
                            capture_output=True, text=True, check=True)
    resolved = json.loads(result.stdout)
    assert resolved["key"] == "A minor" and resolved["variation"] == 3 and out.stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "engine", "render", "--preset", "house", "--key", "H major",
                          "--output", str(out)], capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "key" in bad.stderr
