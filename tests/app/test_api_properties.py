"""Property: whatever JSON a client sends to /generate or /preview, the answer is a documented
status with a JSON {"detail": ...} body on errors; never a 5xx other than 503."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app

API = "/api/v1"
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                      max_leaves=6)
geometry = st.fixed_dictionaries({}, optional={
    "n": st.integers(-5, 2100) | values, "k": st.integers(-5, 1100) | values,
    "omega": st.floats(-12, 12) | values, "xi": st.floats(-12, 12) | values,
    "psi": st.floats(-1, 7) | values, "lock_psi_tau": st.booleans() | values,
})
bodies = st.fixed_dictionaries({}, optional={
    "prompt": st.text(max_size=40) | values, "params": geometry | values,
    "duration_seconds": st.floats(0, 400) | values, "tempo": st.floats(0, 400) | values,
    "format": st.sampled_from(["wav", "mp3", "midi", "flac"]) | values,
    "extra": values,
}) | values


def fake_render(spec, **kwargs) -> bytes:
    return spec.canonical_json().encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, path=st.sampled_from(["/generate", "/preview"]))
def test_any_json_body_gets_a_documented_answer(tmp_path, body, path):
    app = _app(tmp_path)
    raw = json.dumps(body, allow_nan=True)
    response = app.test_client().post(API + path, data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in {200, 202, 400, 413, 422, 503}, (response.status_code, raw)
    if response.status_code >= 400:
        assert isinstance(response.get_json()["detail"], str)
    response.close()


_APPS: dict = {}


def _app(tmp_path):
    key = str(tmp_path)
    if key not in _APPS:
        for old in _APPS.values():
            old.extensions["resonant"].shutdown()
        _APPS.clear()
        _APPS[key] = create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(tmp_path / "cache")},
                                render=fake_render)
    return _APPS[key]
