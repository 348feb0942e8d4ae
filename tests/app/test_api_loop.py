"""`loop` over HTTP: whole bars reported in the job body, a 422 naming the field when it is not a
boolean, and ids unchanged for requests that leave it out or send false (issue 9, part 3)."""
from __future__ import annotations

import io

import pytest
import soundfile as sf
from test_api_styles import IDS_WITHOUT_STYLE

API = "/api/v1"


@pytest.mark.parametrize(("body", "job_id"), IDS_WITHOUT_STYLE, ids=[str(i) for i in range(len(IDS_WITHOUT_STYLE))])
def test_loop_false_keeps_the_ids_requests_always_had(client, body, job_id):
    for sent in ({**body, "loop": False}, {**body, "loop": None}):
        response = client.post(f"{API}/generate", json=sent)
        assert response.status_code == 202 and response.json["job_id"] == job_id


def test_a_loop_reports_its_whole_bars(client, api):
    job = api.complete({"params": {"n": 12, "k": 5}, "tempo": 120, "duration_seconds": 5.3, "loop": True})
    assert job["loop"] is True and job["duration_seconds"] == 6.0  # 2.65 bars of 2 s -> 3 bars
    plain = api.submit({"params": {"n": 12, "k": 5}, "tempo": 120, "duration_seconds": 5.3})
    assert plain["loop"] is False and plain["duration_seconds"] == 5.3 and plain["job_id"] != job["job_id"]
    data = client.get(job["download_url"]).data
    info = sf.info(io.BytesIO(data))
    assert info.frames == 6 * 44100  # sample-exact: the WAV is the loop, nothing more
    same = api.submit({"params": {"n": 12, "k": 5}, "tempo": 120, "duration_seconds": 6.4, "loop": True})
    assert same["job_id"] == job["job_id"]  # rounds to the same bars: the same job


@pytest.mark.parametrize("value", ["yes", 1, [], {}])
def test_a_loop_that_is_not_a_boolean_is_a_422_naming_it(client, value):
    response = client.post(f"{API}/generate", json={"prompt": "calm", "loop": value})
    assert response.status_code == 422
    assert "loop" in response.json["errors"] and "'loop'" in response.json["detail"]
