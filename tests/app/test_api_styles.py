"""Styles over HTTP: the request's `style`, the job body's `style`, GET /styles and /styles/{id}."""
from __future__ import annotations

import pytest

from engine.presets import load_presets
from engine.styles import style_catalog, style_for_geometry

API = "/api/v1"
STYLES = style_catalog()
CATALOG = load_presets()
SHORT = {"duration_seconds": 1, "format": "midi"}

#: Job ids of requests without `style`, computed before the field existed (commit 36fbd33).
#: Adding an optional field must never change an existing id.
IDS_WITHOUT_STYLE = [
    ({"params": {"n": 120, "k": 49, "omega": 2.5, "xi": 1.8}, "duration_seconds": 30},
     "0880c8bdb42a2b16359c50950a3aee80"),
    ({"prompt": "jazzy late night café", "duration_seconds": 30, "format": "mp3"},
     "740a84a5dccf97598b16bfbcc07b3f65"),
    ({"prompt": "tense chase scene"}, "9dceaf3ecb5289866801080f164ba9c1"),  # chase-scene retuned to diatonic
    ({"params": {"n": 12, "k": 5}, "duration_seconds": 1, "format": "midi"}, "3c06491a0dcf6fe1eb35b6181bc40947"),
    ({"prompt": "calm", "params": {"omega": -3.0}, "tempo": 70, "format": "midi"},
     "637890ae91639063826e5e14e41a1b78"),
]


@pytest.mark.parametrize(("body", "job_id"), IDS_WITHOUT_STYLE, ids=[str(i) for i in range(len(IDS_WITHOUT_STYLE))])
def test_requests_without_style_keep_their_ids(client, body, job_id):
    for sent in (body, {**body, "style": None}):  # null means "not given"
        response = client.post(f"{API}/generate", json=sent)
        assert response.status_code == 202, response.json
        assert response.json["job_id"] == job_id


def test_style_changes_the_id_and_is_reported(api):
    plain = api.submit({"prompt": "calm", **SHORT})
    styled = api.submit({"prompt": "calm", "style": "jazz", **SHORT})
    assert plain["style"] == CATALOG.get("calm").style == "ambient"
    assert styled["style"] == "jazz" and styled["job_id"] != plain["job_id"]
    assert styled["preset"] == "calm" and styled["params"] == plain["params"]


@pytest.mark.parametrize(("body", "style"), [
    ({"prompt": "calm", "style": "techno"}, "techno"),  # explicit beats the prompt's preset
    ({"prompt": "calm"}, "ambient"),  # the preset's style
    ({"prompt": "dark techno"}, "techno"),  # the prompt's style word
    ({"prompt": "tense jazz"}, "jazz"),  # the words' style beats the matched preset's
    ({"prompt": "tense jazz", "style": "metal"}, "metal"),  # explicit beats the words
    ({"params": {"n": 24, "omega": 0.5, "lock_psi_tau": False}}, "ambient"),  # the geometry rule
    ({"params": {"n": 24, "omega": 6.0, "xi": -2.0}}, "metal"),
    ({"params": {"n": 24}, "style": "reggae"}, "reggae"),
])
def test_job_body_reports_the_style_used(api, body, style):
    assert api.submit({**body, **SHORT})["style"] == style


def test_polled_job_reports_its_style(client, api):
    job = api.submit({"params": {"n": 24, "omega": 3.0, "xi": -1.0}, **SHORT})
    polled = client.get(f"{API}/jobs/{job['job_id']}").json
    assert polled["style"] == job["style"] == style_for_geometry(omega=3.0, xi=-1.0, lock_psi_tau=True) == "techno"


@pytest.mark.parametrize("path", ["/generate", "/preview"])
def test_unknown_style_is_422_listing_the_ids(client, path):
    response = client.post(API + path, json={"prompt": "calm", "style": "polka"})
    assert response.status_code == 422 and response.mimetype == "application/json"
    body = response.json
    assert body["detail"].startswith("'style' must be one of: ")
    listed = body["detail"].split(": ", 1)[1].split(", ")
    assert listed == STYLES.ids()
    assert body["errors"] == {"style": [body["detail"][len("'style' "):]]}


def test_preview_takes_a_style(client):
    response = client.post(f"{API}/preview", json={"prompt": "calm", "style": "jazz", "format": "midi"})
    assert response.status_code == 200 and response.mimetype == "audio/midi"


def test_styles_lists_the_catalogue(client):
    response = client.get(f"{API}/styles")
    assert response.status_code == 200
    styles = response.json["styles"]
    assert [s["id"] for s in styles] == STYLES.ids()
    assert styles == [s.summary() for s in STYLES]
    for style in styles:
        assert set(style) == {"id", "name", "description", "meter", "feel", "swing", "tempo_range",
                              "instruments", "drums"}
        assert {"melody", "harmony", "bass"} <= set(style["instruments"])
    ambient = next(s for s in styles if s["id"] == "ambient")
    assert ambient["drums"] is None


def test_every_preset_style_is_listed(client):
    listed = {s["id"] for s in client.get(f"{API}/styles").json["styles"]}
    assert {p["style"] for p in client.get(f"{API}/presets").json["presets"]} <= listed


@pytest.mark.parametrize("style_id", ["jazz", "techno", "piano-ballad"])
def test_one_style_by_id(client, style_id):
    response = client.get(f"{API}/styles/{style_id}")
    assert response.status_code == 200 and response.json == STYLES.get(style_id).summary()


def test_jazz_swings_in_four(client):
    jazz = client.get(f"{API}/styles/jazz").json
    assert jazz["meter"] == "4/4" and jazz["swing"] > 0.5 and jazz["feel"].startswith("swing")


@pytest.mark.parametrize("style_id", ["polka", "JAZZ", "jazz-cafe"])
def test_unknown_style_is_404_json(client, style_id):
    response = client.get(f"{API}/styles/{style_id}")
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.json == {"detail": f"Unknown style '{style_id}'"}


def test_openapi_documents_styles(client):
    doc = client.get(f"{API}/openapi.json").json
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    listing = paths[f"{API}/styles"]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/StyleList"}
    one = paths[f"{API}/styles/{{style_id}}"]["get"]["responses"]
    assert set(one) == {"200", "404"}
    assert one["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Style"}
    assert set(schemas["Style"]["required"]) >= {"id", "meter", "feel", "tempo_range", "instruments", "drums"}
    assert schemas["Generate"]["properties"]["style"]["enum"] == [*STYLES.ids(), None]
    assert "style" in schemas["Job"]["required"] and "style" in schemas["Preset"]["required"]
