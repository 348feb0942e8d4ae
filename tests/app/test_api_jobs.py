"""POST /generate and GET /jobs/{id}: Part A's examples verbatim, job bodies, idempotence."""
from __future__ import annotations

import re

import pytest

API = "/api/v1"
JSON = {"Content-Type": "application/json"}
PART_A_TEXT = '{"prompt": "jazzy late night café", "duration_seconds": 30, "format": "mp3"}'
PART_A_PARAMS = '{"params": {"n": 120, "k": 49, "omega": 2.5, "xi": 1.8}, "duration_seconds": 30}'
JOB_FIELDS = {"job_id", "status", "preset", "style", "key", "variation", "loop", "params", "tempo", "duration_seconds",
              "format"}
GEOMETRY = {"n", "k", "omega", "xi", "psi", "lock_psi_tau"}


@pytest.mark.slow
@pytest.mark.parametrize(("raw", "content_type"), [(PART_A_TEXT, "audio/mpeg"), (PART_A_PARAMS, "audio/wav")])
def test_part_a_examples_verbatim(client, api, raw, content_type):
    # exactly what `curl -X POST ... -H "Content-Type: application/json" -d '...'` sends
    response = client.post(f"{API}/generate", data=raw.encode(), headers=JSON)
    assert response.status_code == 202
    job = response.json
    assert re.fullmatch(r"[0-9a-f]{32}", job["job_id"]) and job["status"] in ("pending", "processing")
    assert response.headers["Location"] == f"{API}/jobs/{job['job_id']}"
    done = api.wait(job["job_id"])
    assert done["status"] == "complete"
    assert done["download_url"] == f"{API}/jobs/{job['job_id']}/download"
    download = client.get(done["download_url"])
    assert download.status_code == 200 and download.mimetype == content_type


def test_job_body_reports_what_the_request_resolved_to(client, api):
    body = {"params": {"n": 120, "k": 49, "omega": 2.5, "xi": 1.8}, "duration_seconds": 1, "format": "midi"}
    job = api.complete(body)
    assert set(job) == JOB_FIELDS | {"download_url"}
    assert set(job["params"]) == GEOMETRY
    assert job["params"] == {"n": 120, "k": 49, "omega": 2.5, "xi": 1.8, "psi": 0.0, "lock_psi_tau": True}
    assert job["preset"] is None and job["tempo"] == 120 and job["duration_seconds"] == 1
    assert job["style"] == "house"  # no style named: the geometry rule (locked, |omega| 2.5, xi >= 0)
    assert job["format"] == "midi"


def test_prompt_reports_its_preset_and_explicit_fields_win(api):
    job = api.submit({"prompt": "calm", "params": {"n": 30}, "tempo": 77, "duration_seconds": 2, "format": "midi"})
    assert job["preset"] == "calm"
    assert job["params"]["n"] == 30 and job["tempo"] == 77


def test_same_request_same_job_and_polling_is_idempotent(client, api, renders):
    body = {"params": {"n": 16, "k": 3}, "duration_seconds": 1, "format": "midi"}
    first = api.submit(body)
    second = client.post(f"{API}/generate", json=dict(reversed(list(body.items()))))
    assert second.json["job_id"] == first["job_id"]
    done = api.wait(first["job_id"])
    assert client.get(f"{API}/jobs/{first['job_id']}").json == done
    again = client.post(f"{API}/generate", json=body)
    assert again.status_code == 200  # already complete: its current state, with download_url
    assert again.json == done and again.headers["Location"] == f"{API}/jobs/{first['job_id']}"
    assert renders.count(first["job_id"]) == 1


def test_equivalent_spellings_share_a_job(api):
    a = api.submit({"params": {"n": 24, "k": 10}, "duration_seconds": 1, "format": "midi"})
    b = api.submit({"params": {"n": 24.0, "k": 10, "psi": 0, "lock_psi_tau": True, "omega": 1, "xi": 1},
                    "duration_seconds": 1.0, "tempo": 120, "format": "midi"})
    assert a["job_id"] == b["job_id"]


def test_different_requests_different_jobs(api):
    ids = {api.submit({"params": {"n": 24, "k": k}, "duration_seconds": 1, "format": "midi"})["job_id"]
           for k in range(1, 13)}
    assert len(ids) == 12


def test_failed_job_reports_error_and_a_new_post_retries(client, api, renders, monkeypatch):
    from engine.errors import RenderError

    real = renders.real
    monkeypatch.setattr(renders, "real", lambda spec, **kw: (_ for _ in ()).throw(RenderError("synth exploded")))
    body = {"params": {"n": 20, "k": 3}, "duration_seconds": 1, "format": "midi"}
    job = api.wait(api.submit(body)["job_id"])
    assert job["status"] == "failed" and "synth exploded" in job["error"]
    assert set(job) == JOB_FIELDS | {"error"}
    assert client.get(f"{API}/jobs/{job['job_id']}").json["status"] == "failed"  # GET does not retry
    download = client.get(f"{API}/jobs/{job['job_id']}/download")
    assert download.status_code == 409 and download.json["status"] == "failed"
    monkeypatch.setattr(renders, "real", real)
    retried = client.post(f"{API}/generate", json=body)
    assert retried.status_code == 202 and retried.json["status"] in ("pending", "processing")
    assert api.wait(job["job_id"])["status"] == "complete"


def test_download_before_completion_is_409_with_status(client, api, renders):
    renders.gate.clear()
    job = api.submit({"params": {"n": 22, "k": 3}, "duration_seconds": 1, "format": "midi"})
    response = client.get(f"{API}/jobs/{job['job_id']}/download")
    assert response.status_code == 409
    assert response.json["status"] in ("pending", "processing") and "not complete" in response.json["detail"]
    renders.gate.set()
    api.wait(job["job_id"])
    assert client.get(f"{API}/jobs/{job['job_id']}/download").status_code == 200
