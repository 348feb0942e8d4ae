"""POST /preview: exactly 5 s, the requested format, deterministic, cached on disk."""
from __future__ import annotations

import io

import pytest
import soundfile

API = "/api/v1"


def test_part_a_preview_example(client):
    # curl -X POST .../preview -H "Content-Type: application/json" -d '{"prompt": "calm piano"}'
    response = client.post(f"{API}/preview", data=b'{"prompt": "calm piano"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(response.data))
    assert rate == 44100 and samples.shape == (5 * 44100, 2)


def test_preview_is_exactly_5_s_whatever_the_duration(client):
    response = client.post(f"{API}/preview", json={"params": {"n": 30, "k": 7}, "duration_seconds": 120})
    assert soundfile.info(io.BytesIO(response.data)).frames == 5 * 44100


@pytest.mark.parametrize(("fmt", "mimetype", "magic"), [("mp3", "audio/mpeg", None), ("midi", "audio/midi", b"MThd")])
def test_preview_formats(client, fmt, mimetype, magic):
    response = client.post(f"{API}/preview", json={"prompt": "calm piano", "format": fmt})
    assert response.status_code == 200 and response.mimetype == mimetype
    if magic:
        assert response.data.startswith(magic)


def test_preview_is_deterministic_and_cached(make_app, renders):
    body = {"prompt": "tense chase scene", "params": {"xi": 2.0}}
    first = make_app().test_client().post(f"{API}/preview", json=body)
    again = make_app().test_client().post(f"{API}/preview", json=body)  # same cache dir, new app
    assert first.status_code == again.status_code == 200
    assert first.data == again.data
    assert renders.count() == 1


def test_preview_of_a_5_s_request_is_that_job(client, api, renders):
    body = {"params": {"n": 14, "k": 3}, "duration_seconds": 5, "format": "midi"}
    job = api.complete(body)
    preview = client.post(f"{API}/preview", json=body)
    assert preview.data == client.get(job["download_url"]).data
    assert renders.count() == 1


def test_preview_waits_and_fails_cleanly(make_app, renders, monkeypatch):
    from engine.errors import RenderError

    def broken(spec, **kwargs):
        raise RenderError("no sound today")

    monkeypatch.setattr(renders, "real", broken)
    response = make_app().test_client().post(f"{API}/preview", json={"prompt": "calm"})
    assert response.status_code == 503 and "no sound today" in response.json["detail"]
    assert "Retry-After" in response.headers


def test_preview_that_takes_too_long_is_503(make_app, renders):
    renders.gate.clear()
    response = make_app(RESONANT_PREVIEW_TIMEOUT=0.2).test_client().post(f"{API}/preview", json={"prompt": "calm"})
    renders.gate.set()
    assert response.status_code == 503 and response.json["detail"] == "Preview render timed out"
    assert int(response.headers["Retry-After"]) > 0
