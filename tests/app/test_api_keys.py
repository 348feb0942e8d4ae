"""`key` and `variation` over HTTP: reported in the job body, kept out of the ids of requests
that leave them at their defaults (issue 9, parts 1, 2 and 4)."""
from __future__ import annotations

import io

import mido
import pytest
from test_api_styles import IDS_WITHOUT_STYLE

API = "/api/v1"


@pytest.mark.parametrize(("body", "job_id"), IDS_WITHOUT_STYLE, ids=[str(i) for i in range(len(IDS_WITHOUT_STYLE))])
def test_defaults_keep_the_ids_requests_always_had(client, body, job_id):
    for sent in ({**body, "variation": 0}, {**body, "key": None}, {**body, "variation": None}):
        response = client.post(f"{API}/generate", json=sent)
        assert response.status_code == 202 and response.json["job_id"] == job_id


def test_the_job_body_reports_the_key_and_the_psi_it_implies(api):
    job = api.submit({"params": {"n": 12, "k": 5, "xi": 2.0}, "key": "d MINOR", "duration_seconds": 1,
                      "format": "midi"})
    assert job["key"] == "D minor" and job["variation"] == 0
    assert job["params"]["psi"] == pytest.approx(1.047198) and job["params"]["xi"] == -2.0
    plain = api.submit({"params": {"n": 12, "k": 5, "psi": 3.665191}, "duration_seconds": 1, "format": "midi"})
    assert plain["key"] == "G major"  # the key the geometry implies


def test_a_variation_is_another_job_with_its_own_bytes(client, api):
    first = api.complete({"prompt": "house", "duration_seconds": 4, "format": "midi"})
    second = api.complete({"prompt": "house", "duration_seconds": 4, "format": "midi", "variation": 5})
    assert second["variation"] == 5 and second["job_id"] != first["job_id"]
    a, b = (client.get(j["download_url"]).data for j in (first, second))
    assert a != b
    keys = [m.key for t in mido.MidiFile(file=io.BytesIO(b)).tracks for m in t if m.type == "key_signature"]
    assert keys and keys[0] == first["key"].replace(" major", "").replace(" minor", "m")
