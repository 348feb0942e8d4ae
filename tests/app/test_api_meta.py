"""GET /presets, /presets/{id}, /healthz, /openapi.json and the offline Swagger UI."""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from engine.presets import default_presets_path, load_presets

API = "/api/v1"
CATALOG = load_presets(default_presets_path())


def test_presets_lists_the_whole_catalogue(client):
    response = client.get(f"{API}/presets")
    assert response.status_code == 200
    presets = response.json["presets"]
    assert [p["id"] for p in presets] == CATALOG.ids()
    for preset in presets:
        assert set(preset) == {"id", "name", "description", "tags", "family", "style", "params", "tempo"}
        assert preset["style"] == CATALOG.get(preset["id"]).style
        assert set(preset["params"]) == {"n", "k", "omega", "xi", "psi", "lock_psi_tau"}


@pytest.mark.parametrize("preset", list(CATALOG), ids=lambda p: p.id)
def test_each_preset_by_id(client, preset):
    response = client.get(f"{API}/presets/{preset.id}")
    assert response.status_code == 200 and response.json == preset.to_dict()


def test_unknown_preset_is_404_json(client):
    response = client.get(f"{API}/presets/no-such-thing")
    assert response.status_code == 404 and response.json["detail"] == "Unknown preset 'no-such-thing'"


def test_healthz(client):
    response = client.get(f"{API}/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"


def test_openapi_document(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert set(paths) >= {
        f"{API}/generate", f"{API}/jobs/{{job_id}}", f"{API}/jobs/{{job_id}}/download", f"{API}/preview",
        f"{API}/presets", f"{API}/presets/{{preset_id}}", f"{API}/styles", f"{API}/styles/{{style_id}}",
        f"{API}/healthz",
    }
    generate = paths[f"{API}/generate"]["post"]
    assert set(generate["responses"]) == {"200", "202", "400", "413", "422", "503"}
    assert "Location" in generate["responses"]["202"]["headers"]
    assert "Retry-After" in generate["responses"]["503"]["headers"]
    download = paths[f"{API}/jobs/{{job_id}}/download"]["get"]
    assert set(download["responses"]) >= {"200", "206", "304", "404", "409"}
    for code in ("200", "206"):
        assert set(download["responses"][code]["content"]) == {"audio/wav", "audio/mpeg", "audio/midi",
                                                                 "application/zip"}
    assert set(paths[f"{API}/jobs/{{job_id}}"]["get"]["responses"]) == {"200", "404"}
    body = doc["components"]["schemas"]["Generate"]["properties"]
    assert body["params"]["allOf"] == [{"$ref": "#/components/schemas/Geometry"}]
    assert doc["components"]["schemas"]["Generate"]["anyOf"] == [{"required": ["prompt"]}, {"required": ["params"]}]
    assert paths[f"{API}/jobs/{{job_id}}"]["parameters"][0]["schema"]["pattern"] == "^[0-9a-f]{32}$"
    assert doc["components"]["schemas"]["Geometry"]["properties"]["n"]["maximum"] == 2000


@pytest.mark.parametrize("path", [f"{API}/docs", f"{API}/docs/"])
def test_docs_are_served_offline(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "swagger-ui" in html and f"{API}/openapi.json" in html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"https?://[^\s\"'<>]+", html)
    assert urls
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"external URL in docs page: {url}"
        if url.startswith("/"):
            assert client.get(url).status_code == 200, url


def test_wsgi_app_takes_its_settings_from_the_environment(tmp_path):
    env = {**os.environ, "RESONANT_CACHE_DIR": str(tmp_path / "c"), "RESONANT_POOL_SIZE": "3",
           "RESONANT_QUEUE_LIMIT": "7", "RESONANT_CACHE_MAX_BYTES": "12345", "RESONANT_MAX_PROMPT_CHARS": "50"}
    code = ("import json, wsgi; c = wsgi.app.config; print(json.dumps({k: c[k] for k in ("
            "'RESONANT_CACHE_DIR', 'RESONANT_POOL_SIZE', 'RESONANT_QUEUE_LIMIT', "
            "'RESONANT_CACHE_MAX_BYTES', 'RESONANT_MAX_PROMPT_CHARS', 'MAX_CONTENT_LENGTH')}))")
    root = pathlib.Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    assert json.loads(out.stdout) == {
        "RESONANT_CACHE_DIR": str(tmp_path / "c"), "RESONANT_POOL_SIZE": 3, "RESONANT_QUEUE_LIMIT": 7,
        "RESONANT_CACHE_MAX_BYTES": 12345, "RESONANT_MAX_PROMPT_CHARS": 50, "MAX_CONTENT_LENGTH": 65536,
    }
    assert not (tmp_path / "c").exists()  # nothing touches the disk before the first request
