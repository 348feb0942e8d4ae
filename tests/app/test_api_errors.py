"""Every row of the error table (API.md): status, JSON {"detail": ...}, never HTML."""
from __future__ import annotations

import io
import json

import pytest

from app import create_app

API = "/api/v1"
MISSING = "Provide either 'prompt' or 'params'"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One app for the whole module: these requests never render anything."""
    cache = tmp_path_factory.mktemp("cache")
    return create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(cache)}).test_client()


def assert_json_error(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.data[:300])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in body["detail"] and "<" not in body["detail"]
    return body["detail"]


BAD_REQUESTS = [
    ("not json", "{prompt: calm", JSON),
    ("json array", "[1, 2]", JSON),
    ("json string", '"calm piano"', JSON),
    ("json number", "42", JSON),
    ("json null", "null", JSON),
    ("empty body", "", JSON),
    ("invalid utf-8", b'{"prompt": "\xff\xfe"}', JSON),
    ("deeply nested", "[" * 30000 + "]" * 30000, JSON),
    ("unknown field", '{"prompt": "calm", "colour": "blue"}', JSON),
    ("text/plain", '{"prompt": "calm"}', {"Content-Type": "text/plain"}),
    ("form", "prompt=calm", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("no content type", '{"prompt": "calm"}', {}),
]


@pytest.mark.parametrize("path", ["/generate", "/preview"])
@pytest.mark.parametrize(("name", "body", "headers"), BAD_REQUESTS, ids=[r[0] for r in BAD_REQUESTS])
def test_400_bad_body(client, path, name, body, headers):
    assert_json_error(client.post(API + path, data=body, headers=headers), 400)


@pytest.mark.parametrize("path", ["/generate", "/preview"])
@pytest.mark.parametrize("body", [
    {}, {"duration_seconds": 10}, {"format": "mp3", "tempo": 100}, {"prompt": None, "params": None},
])
def test_400_neither_prompt_nor_params_exact_detail(client, path, body):
    assert assert_json_error(client.post(API + path, json=body), 400) == MISSING


def test_400_unknown_field_is_named(client):
    detail = assert_json_error(client.post(f"{API}/generate", json={"prompt": "x", "seed": 1}), 400)
    assert "seed" in detail


UNPROCESSABLE = [
    ({"params": {"n": 1}}, "params.n", "2"),
    ({"params": {"n": 2001}}, "params.n", "2000"),
    ({"params": {"n": 12.5}}, "params.n", "integer"),
    ({"params": {"n": 10**400}}, "params.n", "integer"),
    ({"params": {"omega": -(10**400)}}, "params.omega", "-10"),
    ({"prompt": "calm", "tempo": 10**400}, "tempo", "40 to 300"),
    ({"params": {"n": 1e300}}, "params.n", "integer"),
    ({"params": {"n": "12"}}, "params.n", "integer"),
    ({"params": {"n": True}}, "params.n", "integer"),
    ({"params": {"k": False, "n": 12}}, "params.k", "integer"),
    ({"params": {"n": 12, "k": 7}}, "params.k", "n/2"),
    ({"params": {"n": 120, "k": 61}}, "params.k", "60"),
    ({"params": {"n": 12, "k": 0}}, "params.k", "1"),
    ({"params": {"omega": 10.5}}, "params.omega", "-10"),
    ({"params": {"xi": -11}}, "params.xi", "10"),
    ({"params": {"psi": 7}}, "params.psi", "2π"),
    ({"params": {"psi": -0.1}}, "params.psi", "0"),
    ({"params": {"lock_psi_tau": "yes"}}, "params.lock_psi_tau", "true or false"),
    ({"params": {"lock_psi_tau": 1}}, "params.lock_psi_tau", "true or false"),
    ({"params": {"spin": 1}}, "params.spin", "n, k"),
    ({"params": [1, 2]}, "params", "object"),
    ({"params": "n=12"}, "params", "object"),
    ({"prompt": 42}, "prompt", "string"),
    ({"prompt": ["calm"]}, "prompt", "string"),
    ({"prompt": ""}, "prompt", "non-empty"),
    ({"prompt": " \n\t "}, "prompt", "non-empty"),
    ({"prompt": None, "params": {"n": 12}}, "prompt", "string"),
    ({"prompt": "calm", "params": None}, "params", "object"),
    ({"prompt": "calm", "duration_seconds": 0.5}, "duration_seconds", "1 to 300"),
    ({"prompt": "calm", "duration_seconds": 301}, "duration_seconds", "1 to 300"),
    ({"prompt": "calm", "duration_seconds": "30"}, "duration_seconds", "number"),
    ({"prompt": "calm", "duration_seconds": True}, "duration_seconds", "number"),
    ({"prompt": "calm", "tempo": 39}, "tempo", "40 to 300"),
    ({"prompt": "calm", "tempo": 300.5}, "tempo", "40 to 300"),
    ({"prompt": "calm", "format": "flac"}, "format", "wav, mp3, midi"),
    ({"prompt": "calm", "format": 3}, "format", "string"),
    ({"prompt": "calm", "style": "polka"}, "style", "ambient, drone"),
    ({"params": {"n": 12}, "style": ["jazz"]}, "style", "string"),
    ({"prompt": "calm", "style": "Jazz"}, "style", "jazz, blues"),
    ({"prompt": "calm", "key": "H minor"}, "key", "D minor"),
    ({"prompt": "calm", "key": "D locrian"}, "key", "dorian"),
    ({"prompt": "calm", "key": 7}, "key", "string"),
    ({"prompt": "calm", "variation": -1}, "variation", "0 to 2147483647"),
    ({"prompt": "calm", "variation": 2**31}, "variation", "0 to 2147483647"),
    ({"prompt": "calm", "variation": 1.5}, "variation", "integer"),
    ({"prompt": "x" * 501}, "prompt", "500"),
]


@pytest.mark.parametrize("path", ["/generate", "/preview"])
@pytest.mark.parametrize(("body", "field", "hint"), UNPROCESSABLE, ids=[f"{r[1]}-{i}" for i, r in enumerate(UNPROCESSABLE)])
def test_422_names_field_and_range(client, path, body, field, hint):
    detail = assert_json_error(client.post(API + path, json=body), 422)
    assert f"'{field}'" in detail and hint in detail, detail


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["tempo", "duration_seconds", "params.omega", "params.n"])
def test_422_nan_and_infinity(client, literal, field):
    if field.startswith("params."):
        raw = json.dumps({"params": {field.split(".")[1]: "LITERAL"}})
    else:
        raw = json.dumps({"prompt": "calm", field: "LITERAL"})
    raw = raw.replace('"LITERAL"', literal)
    detail = assert_json_error(client.post(f"{API}/generate", data=raw, headers=JSON), 422)
    assert f"'{field}'" in detail


def post_chunked(client, body: bytes):
    """A body without Content-Length, as gunicorn passes a chunked request on."""
    return client.post(f"{API}/generate", input_stream=io.BytesIO(body),
                       headers={**JSON, "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def test_413_body_over_64_kib_with_content_length(client):
    body = json.dumps({"prompt": "x" * (70 * 1024)})
    assert_json_error(client.post(f"{API}/generate", data=body, headers=JSON), 413)


def test_413_chunked_body_without_content_length(client):
    body = json.dumps({"prompt": "calm", "pad": "x" * (70 * 1024)}).encode()

    assert_json_error(post_chunked(client, body), 413)


def test_chunked_body_under_the_cap_is_read_whole(client):
    body = json.dumps({"params": {"n": 1}, "pad": "x"}).encode()
    assert_json_error(post_chunked(client, body), 400)  # read completely: the unknown field 'pad' is seen


@pytest.mark.parametrize("job_id", [
    "0" * 32, "f" * 32, "ABCDEF0123456789ABCDEF0123456789", "a3f8c2e91b04", "0" * 33,
    "..%2F..%2Fetc%2Fpasswd", "%00", "zz" * 16, "0" * 31 + "g",
])
@pytest.mark.parametrize("suffix", ["", "/download"])
def test_404_unknown_or_malformed_job(client, job_id, suffix):
    assert_json_error(client.get(f"{API}/jobs/{job_id}{suffix}"), 404)


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/jobs", "/api/v1/presets/no-such-preset"])
def test_404_routing_is_json(client, path):
    assert_json_error(client.get(path), 404)


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("get", "/generate", {"POST"}),
    ("put", "/generate", {"POST"}),
    ("get", "/preview", {"POST"}),
    ("post", "/presets", {"GET", "HEAD", "OPTIONS"}),
    ("delete", "/jobs/" + "0" * 32, {"GET", "HEAD", "OPTIONS"}),
    ("post", "/jobs/" + "0" * 32 + "/download", {"GET", "HEAD", "OPTIONS"}),
    ("post", "/healthz", {"GET", "HEAD", "OPTIONS"}),
])
def test_405_is_json_and_keeps_allow(client, method, path, allowed):
    response = getattr(client, method)(API + path)
    assert_json_error(response, 405)
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= allowed


def test_500_is_json_without_stack_trace(tmp_path, monkeypatch):
    app = create_app({"RESONANT_CACHE_DIR": str(tmp_path), "PROPAGATE_EXCEPTIONS": False})
    from app import service

    def boom(self, body):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service.JobService, "resolve", boom)
    response = app.test_client().post(f"{API}/generate", json={"prompt": "calm"})
    assert assert_json_error(response, 500) == "Internal server error"


@pytest.mark.parametrize("path", ["/generate", "/preview"])
def test_engine_422_has_the_schema_422_shape(client, path):
    """A range only the engine knows (k up to n/2) answers like a schema error: detail + errors."""
    engine_422 = client.post(API + path, json={"params": {"n": 12, "k": 7}})
    schema_422 = client.post(API + path, json={"params": {"n": 12, "k": "x"}})
    assert engine_422.status_code == schema_422.status_code == 422
    assert set(engine_422.json) == set(schema_422.json) == {"detail", "errors"}
    assert engine_422.json["errors"] == {"params.k": ["must be an integer from 1 to n/2 = 6"]}
    assert isinstance(schema_422.json["errors"], dict) and schema_422.json["errors"]
