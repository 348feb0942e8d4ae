"""Nasty input: whatever a client sends, the answer is a 4xx JSON {"detail": ...}, never a 5xx.

Property tests (hypothesis) of the request bodies in-process; raw-socket abuse (bodies far
over the cap with and without Content-Length, 100k-deep nesting, invalid UTF-8, junk job ids)
against real gunicorn, where the WSGI input is the real one. tests/app/test_api_errors.py
holds the error table itself; this module throws what a table cannot list.

Integral floats for integer fields (n: 12.0) are accepted as the integer, exactly as
engine.spec.validate_geometry accepts them, and give the same job as 12; 12.5 is a 422.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import math
import socket
import urllib.parse

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_harness import API, CHEAP, Gunicorn

from engine.spec import GEOMETRY_FIELDS

PROPS = settings(max_examples=120, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TOP_FIELDS = ("prompt", "params", "duration_seconds", "tempo", "format")

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def check_answer(response, *, allow_success: bool = True) -> None:
    """2xx, or a 4xx with a JSON {"detail": str}; never a 5xx, never HTML."""
    status = response.status_code
    assert status < 500, (status, response.data[:300])
    if status >= 400:
        assert response.mimetype == "application/json", response.data[:200]
        detail = response.get_json()["detail"]
        assert isinstance(detail, str) and detail and "Traceback" not in detail
    else:
        assert allow_success, status


@pytest.fixture(scope="module")
def client(module_app):
    return module_app.test_client()


def dumps(body) -> str:
    return json.dumps(body, allow_nan=True)  # NaN / Infinity literals travel as sent


@PROPS
@given(field=st.sampled_from(TOP_FIELDS), value=json_values)
def test_any_json_value_in_any_top_level_field(client, field, value):
    body = {**CHEAP, "prompt": "calm piano", field: value}
    check_answer(client.post(f"{API}/generate", data=dumps(body), content_type="application/json"))


@PROPS
@given(field=st.sampled_from(GEOMETRY_FIELDS), value=json_values)
def test_any_json_value_in_any_geometry_field(client, field, value):
    body = {**CHEAP, "params": {"n": 24, "k": 7, field: value}}
    check_answer(client.post(f"{API}/generate", data=dumps(body), content_type="application/json"))


@st.composite
def mutated_bodies(draw):
    """A valid body with keys dropped, replaced by any JSON value, or unknown keys added."""
    body = {"prompt": "tense chase scene", "params": {"n": 120, "k": 49, "omega": 2.5, "xi": 1.8},
            "duration_seconds": 1, "tempo": 90, "format": "midi"}
    for key in draw(st.lists(st.sampled_from(TOP_FIELDS), max_size=3, unique=True)):
        action = draw(st.sampled_from(["drop", "replace"]))
        if action == "drop":
            body.pop(key)
        else:
            body[key] = draw(json_values)
    if draw(st.booleans()) and isinstance(body.get("params"), dict):
        for key in draw(st.lists(st.sampled_from(GEOMETRY_FIELDS), max_size=3, unique=True)):
            body["params"][key] = draw(json_values)
    if draw(st.integers(0, 4)) == 0:
        body[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    return body


@PROPS
@given(body=mutated_bodies(), path=st.sampled_from(["/generate", "/preview"]))
def test_mutated_valid_bodies(client, body, path):
    if path == "/preview" and "duration_seconds" in body:
        body = {**body, "format": "midi"}  # keep synchronous renders cheap
    check_answer(client.post(API + path, data=dumps(body), content_type="application/json"))


@PROPS
@given(raw=st.binary(max_size=300), content_type=st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "text/plain", "", "application/x-www-form-urlencoded",
     "multipart/form-data; boundary=x", "application/merge-patch+json"]))
def test_binary_junk_bodies(client, raw, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    check_answer(client.post(f"{API}/generate", data=raw, headers=headers))


@PROPS
@given(job_id=st.text(max_size=80) | st.binary(max_size=40).map(lambda b: b.hex().upper()))
def test_any_job_id_is_a_json_404(client, job_id):
    quoted = urllib.parse.quote(job_id, safe="")
    for suffix in ("", "/download"):
        response = client.get(f"{API}/jobs/{quoted}{suffix}")
        if (job_id == "" or "/" in job_id) and response.status_code == 308:
            continue  # "/jobs/" or "//": routing's redirect to the normalised path
        assert response.status_code == 404, (job_id, response.status_code)
        check_answer(response)


WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()] + ["\ufeff", "\u200b", "a"]


@PROPS
@given(prompt=st.text(st.sampled_from(WHITESPACE), max_size=4) | st.text(max_size=12))
def test_prompt_accepted_exactly_when_the_documented_schema_allows_it(client, prompt):
    """The OpenAPI prompt schema and the service agree on every string (blank or not)."""
    schema = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]["Generate"]["properties"]["prompt"]
    valid = jsonschema_rs.Draft4Validator(schema).is_valid(prompt)
    response = client.post(f"{API}/generate", json={**CHEAP, "prompt": prompt})
    check_answer(response)
    assert (response.status_code in (200, 202)) == valid, (prompt, response.status_code, response.get_json())


@pytest.mark.parametrize(("n", "k", "status"), [
    (12.0, 5, 202), (12, 5.0, 202), (12.0, 5.0, 202), (12.5, 5, 422), (12, 5.5, 422),
    (True, 5, 422), (12, False, 422), (1e400, 5, 422), (12, -0.0, 422),
])
def test_floats_and_booleans_for_n_and_k(client, n, k, status):
    body = {**CHEAP, "params": {"n": n, "k": k}}
    response = client.post(f"{API}/generate", data=dumps(body), content_type="application/json")
    assert response.status_code in ((200, 202) if status == 202 else (status,)), response.get_json()
    if status == 202:  # the same job as the integers: one spec, one id
        same = client.post(f"{API}/generate", json={**CHEAP, "params": {"n": 12, "k": 5}})
        assert response.get_json()["job_id"] == same.get_json()["job_id"]
        assert response.get_json()["params"]["n"] == 12 and isinstance(response.get_json()["params"]["n"], int)


def test_every_route_answers_405_with_its_allow_header(module_app, client):
    methods = {"GET", "POST", "PUT", "PATCH", "DELETE"}
    checked = 0
    for rule in module_app.url_map.iter_rules():
        path = rule.rule.replace("<job_id:job_id>", "0" * 32).replace("<string:preset_id>", "calm")
        path = path.replace("<path:filename>", "index.html")
        if "<" in path:
            continue
        for method in sorted(methods - set(rule.methods)):
            response = client.open(path, method=method)
            if response.status_code != 405:
                continue  # another rule on the same path takes this method
            check_answer(response)
            allowed = {m.strip() for m in response.headers["Allow"].split(",")}
            assert allowed >= set(rule.methods) - {"OPTIONS"}, (path, method, allowed)
            assert method not in allowed
            checked += 1
    assert checked >= 20


def test_infinity_and_nan_in_every_number_field(client):
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        for field in ("duration_seconds", "tempo"):
            raw = f'{{"prompt": "calm", "{field}": {literal}}}'
            assert client.post(f"{API}/generate", data=raw, content_type="application/json").status_code == 422
        for field in ("n", "k", "omega", "xi", "psi"):
            raw = f'{{"params": {{"{field}": {literal}}}}}'
            assert client.post(f"{API}/generate", data=raw, content_type="application/json").status_code == 422
    assert math.isinf(json.loads("1e999"))  # what the parser makes of an overflowing literal


# -- against real gunicorn: the real socket and WSGI input ----------------------------------
def raw_request(server: Gunicorn, method: str, path: str, *, body=None, headers=None,
                chunked: bool = False) -> tuple[int, dict, bytes]:
    """One request over a plain socket; the answer is read even if the server stopped reading.

    A server may answer 413 and close before the client has sent all of a huge body; the
    client's write then fails (EPIPE/ECONNRESET) but the answer is already on its way.
    """
    sent = {"Host": "127.0.0.1", "Connection": "close", **(headers or {})}
    if chunked:
        sent["Transfer-Encoding"] = "chunked"
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in body) + b"0\r\n\r\n"
    else:
        payload = body or b""
        sent.setdefault("Content-Length", str(len(payload)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        try:
            sock.sendall(head.encode("latin-1") + payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early; read what it said
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


def assert_json_4xx(status: int, headers: dict, data: bytes, expected: int | None = None) -> None:
    assert 400 <= status < 500 and (expected is None or status == expected), (status, data[:200])
    assert headers.get("Content-Type", "").startswith("application/json"), headers
    assert isinstance(json.loads(data)["detail"], str)


JSON = {"Content-Type": "application/json"}
HUGE = b'{"prompt": "' + b"x" * (256 * 1024) + b'"}'


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/generate", "/preview"])
def test_huge_body_with_content_length_is_413(shared_gunicorn, path):
    assert_json_4xx(*raw_request(shared_gunicorn, "POST", API + path, body=HUGE, headers=JSON), 413)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/generate", "/preview"])
def test_huge_chunked_body_is_413_not_truncated(shared_gunicorn, path):
    chunks = (HUGE[i:i + 65536] for i in range(0, len(HUGE), 65536))
    assert_json_4xx(*raw_request(shared_gunicorn, "POST", API + path, body=chunks, headers=JSON, chunked=True), 413)


@pytest.mark.slow
def test_chunked_body_just_under_the_cap_is_read_whole(shared_gunicorn):
    body = json.dumps({**CHEAP, "prompt": "calm", "zzz": "x" * (60 * 1024)}).encode()
    chunks = (body[i:i + 1000] for i in range(0, len(body), 1000))
    status, headers, data = raw_request(shared_gunicorn, "POST", f"{API}/generate", body=chunks,
                                        headers=JSON, chunked=True)
    assert_json_4xx(status, headers, data, 400)
    assert "zzz" in json.loads(data)["detail"]  # the last field arrived: nothing was cut off


@pytest.mark.slow
@pytest.mark.parametrize(("name", "raw", "headers", "expected"), [
    ("60k open brackets (under the cap)", b"[" * 60_000, JSON, 400),
    ("100k open brackets", b"[" * 100_000, JSON, 413),
    ("8k nested objects", b'{"params": ' + b'{"a": ' * 8_000 + b"1" + b"}" * 8_001, JSON, 400),
    ("invalid utf-8", b'{"prompt": "\xc3\x28 \xff"}', JSON, 400),
    ("utf-16 json", '{"prompt": "calm"}'.encode("utf-16"), JSON, 400),
    ("NUL in prompt", b'{"prompt": "calm\\u0000piano", "format": "midi", "duration_seconds": 1}', JSON, None),
    ("NaN literal", b'{"prompt": "calm", "tempo": NaN}', JSON, 422),
    ("-Infinity literal", b'{"params": {"omega": -Infinity}}', JSON, 422),
    ("null params", b'{"params": null}', JSON, None),
    ("list params", b'{"params": [12, 5]}', JSON, 422),
    ("string body", b'"calm"', JSON, 400),
    ("unknown field", b'{"prompt": "calm", "seed": 7}', JSON, 400),
    ("wrong content type", b'{"prompt": "calm"}', {"Content-Type": "text/plain"}, 400),
    ("binary junk", bytes(range(256)) * 4, {"Content-Type": "application/octet-stream"}, 400),
    ("lying content-length", b'{"prompt": "calm", "format": "midi"}', {**JSON, "Content-Length": "5"}, 400),
])
def test_raw_abuse_is_a_json_4xx(shared_gunicorn, name, raw, headers, expected):
    status, got_headers, data = raw_request(shared_gunicorn, "POST", f"{API}/generate", body=raw, headers=headers)
    if expected is None and status in (200, 202):
        return  # acceptable input after all (a NUL is just a character of a prompt)
    assert_json_4xx(status, got_headers, data, expected)


@pytest.mark.slow
@pytest.mark.parametrize("job_id", [
    "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..", "%2e%2e", "%00", "a%00b",
    "%ff%fe%00", "A3F8C2E91B04A3F8C2E91B04A3F8C2E9", "0" * 1000, "%20" * 100, "%0d%0aSet-Cookie:x",
    "0" * 31 + "%C3%A9",
])
@pytest.mark.parametrize("suffix", ["", "/download"])
def test_junk_job_ids_are_json_404(shared_gunicorn, job_id, suffix):
    assert_json_4xx(*raw_request(shared_gunicorn, "GET", f"{API}/jobs/{job_id}{suffix}"), 404)


@pytest.mark.slow
def test_request_line_and_headers_over_gunicorn_limits(shared_gunicorn):
    """gunicorn itself refuses these before the app sees them: JSON too, never HTML or 5xx."""
    assert_json_4xx(*raw_request(shared_gunicorn, "GET", f"{API}/jobs/{'a' * 5000}"), 414)
    status, headers, data = raw_request(shared_gunicorn, "GET", f"{API}/healthz", headers={"X-Big": "a" * 9000})
    assert_json_4xx(status, headers, data)
    many = {f"X-H{i}": "1" for i in range(120)}
    assert_json_4xx(*raw_request(shared_gunicorn, "GET", f"{API}/healthz", headers=many))
    assert shared_gunicorn.request("GET", f"{API}/healthz").status == 200  # and keeps serving


@pytest.mark.slow
def test_malformed_http_is_a_json_400(shared_gunicorn):
    with socket.create_connection(("127.0.0.1", shared_gunicorn.port), timeout=30) as sock:
        sock.sendall(b"GET /api/v1/healthz HTTP/9.9\r\nHost: x\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert_json_4xx(response.status, dict(response.getheaders()), response.read())
