"""Issue 9 from outside: gunicorn started as `make run` starts it, with RESONANT_WEBHOOK_SECRET
and RESONANT_WEBHOOK_ALLOW_PRIVATE=1, driven over HTTP alone through keys, a loop played twice,
two variations, a stems ZIP summed and checked against its manifest, and a webhook to a loopback
receiver whose signature is verified. Every check reads only what a client receives."""
from __future__ import annotations

import base64
import io
import json
import time
import zipfile

import numpy as np
import pytest
import soundfile as sf
from standardwebhooks import Webhook
from test_gunicorn import API, Server
from test_webhooks import Receiver

from tests import musicanalysis as ma

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"issue nine, from the outside!!!!").decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("issue9")
    live = Server(folder / "cache", folder / "gunicorn.log", workers=2,
                  env={"RESONANT_WEBHOOK_SECRET": SECRET, "RESONANT_WEBHOOK_ALLOW_PRIVATE": "1"})
    yield live
    live.stop()


def finished(server: Server, body: dict) -> tuple[dict, bytes]:
    """POST the body, poll the job until complete, download it: (job body, file bytes)."""
    status, job = server.json("POST", f"{API}/generate", body)
    assert status in (200, 202), job
    deadline = time.monotonic() + 120
    while job["status"] != "complete":
        assert job["status"] != "failed" and time.monotonic() < deadline, job
        time.sleep(0.1)
        status, job = server.json("GET", f"{API}/jobs/{job['job_id']}")
    status, _, data = server.request("GET", job["download_url"])
    assert status == 200
    return job, data


def audio(data: bytes) -> np.ndarray:
    y, sr = sf.read(io.BytesIO(data), dtype="float32")
    assert sr == 44100
    return y


@pytest.mark.parametrize(("key", "tonic", "mode"), [("D minor", 2, "minor"), ("Bb major", 10, "major")])
def test_a_named_key_is_heard_in_the_audio_and_read_in_the_midi(server, key, tonic, mode):
    body = {"prompt": "calm piano", "duration_seconds": 20, "key": key}
    job, wav = finished(server, body)
    _, midi = finished(server, {**body, "format": "midi"})
    assert job["key"] == key
    assert ma.estimate_key(ma.audio_chroma(audio(wav), 44100))[:2] == (tonic, mode)
    assert ma.estimate_key(ma.pc_histogram(ma.read_midi(midi).pitched()))[:2] == (tonic, mode)


def test_a_loop_played_twice_has_no_seam(server):
    job, wav = finished(server, {"prompt": "house", "duration_seconds": 20, "loop": True})
    y = audio(wav)
    assert job["loop"] is True and len(y) == round(job["duration_seconds"] * 44100)
    found = ma.seam(y, 44100)
    assert found["discontinuity"][0] <= found["discontinuity"][2]
    assert found["level"][1] - 1.0 <= found["level"][0] <= found["level"][2]
    assert found["flux"][0] <= found["flux"][2]


def test_two_variations_are_other_notes_in_the_same_idiom(server):
    first, a = finished(server, {"prompt": "jazz cafe", "duration_seconds": 20, "format": "midi"})
    second, b = finished(server, {"prompt": "jazz cafe", "duration_seconds": 20, "format": "midi", "variation": 3})
    assert first["job_id"] != second["job_id"] and a != b
    for field in ("style", "key", "tempo", "params"):
        assert first[field] == second[field]
    one, two = ma.read_midi(a), ma.read_midi(b)
    assert not np.array_equal(one.track("melody").pitch, two.track("melody").pitch)
    assert one.tempo == two.tempo and {t.name for t in one.tracks} == {t.name for t in two.tracks}


def test_a_stems_zip_sums_to_the_mix_and_matches_its_manifest(server):
    body = {"prompt": "lofi study", "duration_seconds": 12}
    _, wav = finished(server, body)
    job, data = finished(server, {**body, "format": "stems"})
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert sorted(archive.namelist()) == sorted(manifest["files"])
    total = np.zeros((manifest["frames"], 2))
    for voice in manifest["voices"]:
        stem, sr = sf.read(io.BytesIO(archive.read(voice["file"])), dtype="float64")
        assert sr == 44100 and stem.shape == total.shape
        total += stem
    total /= manifest["gain"]["stem_headroom_linear"]
    mix = audio(wav)
    # equal wherever the limiter let the mix through, which is nearly everywhere
    close = np.abs(total - mix).max(axis=1) < 4e-4 * len(manifest["voices"])
    assert close.mean() > 0.9
    assert manifest["key"] == job["key"] and manifest["tempo"] == job["tempo"]


def test_a_webhook_reaches_a_loopback_receiver_signed(server):
    receiver = Receiver()
    try:
        body = {"prompt": "victory fanfare", "duration_seconds": 3, "format": "midi",
                "callback_url": receiver.url("/done")}
        job, _ = finished(server, body)
        request = receiver.wait(1, "/done")[0]
        payload = Webhook(SECRET).verify(request["body"], request["headers"])
        assert payload["job_id"] == job["job_id"] and payload["status"] == "complete"
    finally:
        receiver.close()
