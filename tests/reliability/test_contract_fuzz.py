"""Contract fuzzing with schemathesis, from the service's own /api/v1/openapi.json.

Stateless (every operation, positive and negative data, all built-in checks: no 5xx, response
bodies and headers as documented, documented status codes only, negative data rejected,
positive data accepted, unsupported methods answered 405) and stateful (generate -> poll ->
download, links inferred by schemathesis from the schemas), in-process and against real
gunicorn (2 workers, `Connection: close`, so consecutive requests hop between workers).
Then every documented status code of every operation is reached by a targeted request.

Renders stay cheap: valid durations are mapped down to at most 2 s before sending, absent
ones set to 1 s (out-of-range ones are kept, so the 422 boundary is still fuzzed), and
examples are bounded. The default duration is covered by tests/app.
"""
from __future__ import annotations

import collections
import json
import os
import tempfile
import threading
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition
from reliability_harness import API, CHEAP, Gunicorn, buffered

# engine.render (numpy) is imported here, not first by a render thread: hypothesis looks at
# sys.modules["numpy"] while drawing, and a half-imported numpy would break it.
import engine.render  # noqa: F401
from app import create_app

#: Examples per operation and phase (env RESONANT_FUZZ_EXAMPLES raises it for a longer soak).
EXAMPLES = int(os.environ.get("RESONANT_FUZZ_EXAMPLES", "50"))
STATEFUL_EXAMPLES = max(5, EXAMPLES // 5)
QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=QUIET)
STATEFUL = settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, deadline=None,
                    derandomize=True, suppress_health_check=QUIET)
CLOSE = {"Connection": "close"}
#: Seconds a fuzzed request may take: a preview waits behind the renders queued before it.
TIMEOUT = 90
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

#: (where, "METHOD /path") -> statuses the fuzzer saw; printed by the coverage test.
SEEN: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
_SEEN_LOCK = threading.Lock()


def cheap_body(body: Any) -> Any:
    """Cap a valid duration at 2 s and give absent ones 1 s (not the 30 s default), so renders
    stay cheap and the pool keeps up; invalid values are left alone (they must still be 422)."""
    if isinstance(body, dict):
        value = body.get("duration_seconds", 1)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 2 < value <= 300:
            value = 1 + value % 1
        body = {**body, "duration_seconds": value}
    return body


def is_k_over_half_n(failure: Any, response: Any) -> bool:
    """The one documented rule a JSON Schema cannot state: k <= n/2 (a 422 naming params.k)."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 422:
        return False
    try:
        detail = json.loads(response.content)["detail"]
    except (ValueError, KeyError, TypeError):
        return False
    return "'params.k'" in detail and "n/2" in detail


def is_callback_without_secret(failure: Any, response: Any) -> bool:
    """The other documented rule a JSON Schema cannot state: a callback_url needs a server with
    RESONANT_WEBHOOK_SECRET (the fuzzed servers have none, so no fuzzed URL is ever called)."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 422:
        return False
    try:
        errors = json.loads(response.content)["errors"]
    except (ValueError, KeyError, TypeError):
        return False
    return list(errors) == ["callback_url"] and "RESONANT_WEBHOOK_SECRET" in errors["callback_url"][0]


def is_backpressure(failure: Any, response: Any) -> bool:
    """503 "queue full" is the documented back-pressure (with Retry-After), not a crash."""
    if type(failure).__name__ != "ServerError" or response.status_code != 503:
        return False
    retry_after = response.headers.get("retry-after") or response.headers.get("Retry-After")
    value = retry_after[0] if isinstance(retry_after, list) else retry_after
    return bool(value) and str(value).isdigit()


def prepare(schema: Any, where: str) -> Any:
    """Schema-scoped hooks: cheap durations, the k <= n/2 excuse, and status bookkeeping."""

    @schema.hook
    def map_body(context, body):
        return cheap_body(body)

    @schema.hook
    def filter_failure(context, failure, case, response):
        return not (is_k_over_half_n(failure, response) or is_callback_without_secret(failure, response)
                    or is_backpressure(failure, response))

    @schema.hook
    def after_call(context, case, response):
        with _SEEN_LOCK:
            SEEN[(where, f"{case.method.upper()} {case.path}")][response.status_code] += 1

    return schema


# schemathesis.pytest.from_fixture does not work with pytest 9 (it reads Function._nodeid), so
# the schemas are loaded at import: from an in-process app on its own temporary cache.
_CACHE = tempfile.TemporaryDirectory(prefix="resonant-fuzz-")
# A deep queue: previews wait for the renders queued before them instead of being refused
# (503 back-pressure is reached on purpose by the coverage test below).
APP = create_app({"TESTING": True, "RESONANT_CACHE_DIR": _CACHE.name,
                  "RESONANT_POOL_SIZE": 2, "RESONANT_QUEUE_LIMIT": 256})
DOCUMENT = APP.test_client().get(f"{API}/openapi.json").get_json()
inprocess = prepare(schemathesis.openapi.from_wsgi(f"{API}/openapi.json", buffered(APP)), "in-process")
#: The same document, sent to gunicorn (the test below checks gunicorn serves it identically).
over_gunicorn = prepare(schemathesis.openapi.from_dict(DOCUMENT), "gunicorn")


@pytest.fixture(scope="module", autouse=True)
def _cleanup_cache():
    yield
    APP.extensions["resonant"].runner.shutdown(wait=True)  # renders the fuzzer queued finish before the cache goes
    _CACHE.cleanup()


@inprocess.parametrize()
@FUZZ
def test_stateless_in_process(case):
    case.call_and_validate()


def run_workflow(machine: Any) -> None:
    """Run a stateful phase. The server has state (a job answered 202 once is 200 when asked
    again), so hypothesis may see a replayed scenario take another branch and give up with
    FlakyStrategyDefinition: that says nothing about the service, so it skips; every check
    failure still fails the test."""
    try:
        machine.run(settings=STATEFUL)
    except FlakyStrategyDefinition as exc:
        pytest.skip(f"hypothesis could not replay a scenario against a stateful server: {exc}"[:300])


def test_stateful_in_process():
    run_workflow(inprocess.as_state_machine())


def test_gunicorn_serves_the_same_document(shared_gunicorn):
    assert shared_gunicorn.request("GET", f"{API}/openapi.json").json == DOCUMENT


@pytest.mark.slow
@over_gunicorn.parametrize()
@FUZZ
def test_stateless_gunicorn(case, shared_gunicorn):
    case.call_and_validate(base_url=shared_gunicorn.base_url, headers=CLOSE, timeout=TIMEOUT)


@pytest.mark.slow
def test_stateful_gunicorn(shared_gunicorn):
    class Workflow(over_gunicorn.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": shared_gunicorn.base_url, "headers": CLOSE, "timeout": TIMEOUT}

    run_workflow(Workflow)


# -- every documented status code, reached on purpose ---------------------------------------
def documented(doc: dict) -> dict[str, set[int]]:
    return {f"{method.upper()} {path}": {int(code) for code in op["responses"]}
            for path, item in doc["paths"].items() for method, op in item.items() if method in METHODS}


def reach_every_status(server: Gunicorn, busy: Gunicorn) -> dict[str, set[int]]:
    """Targeted requests; `busy` is a gunicorn whose one render slot is taken (503s)."""
    got: dict[str, set[int]] = collections.defaultdict(set)
    gen, job, dl = f"POST {API}/generate", f"GET {API}/jobs/{{job_id}}", f"GET {API}/jobs/{{job_id}}/download"
    pv, presets, preset, health = (f"POST {API}/preview", f"GET {API}/presets",
                                   f"GET {API}/presets/{{preset_id}}", f"GET {API}/healthz")
    styles, style = f"GET {API}/styles", f"GET {API}/styles/{{style_id}}"

    def post(key: str, srv: Gunicorn, path: str, **kwargs: Any) -> Any:
        reply = srv.request("POST", path, **kwargs)
        got[key].add(reply.status)
        if reply.status >= 400:
            assert isinstance(reply.json["detail"], str)
        return reply

    def get(key: str, path: str, headers: dict[str, str] | None = None, srv: Gunicorn = server) -> Any:
        reply = srv.request("GET", path, headers=headers)
        got[key].add(reply.status)
        return reply

    first = post(gen, server, f"{API}/generate", body=CHEAP)
    job_id = first.json["job_id"]
    post(gen, server, f"{API}/generate", body={})                               # 400
    post(gen, server, f"{API}/generate", body={"prompt": "x" * 70_000})        # 413
    post(gen, server, f"{API}/generate", body={"params": {"n": 1}})            # 422
    long = {"params": {"n": 1999, "k": 700}, "duration_seconds": 300, "format": "wav"}
    queued = post(gen, busy, f"{API}/generate", body=long)
    refused = post(gen, busy, f"{API}/generate", body=CHEAP)                    # 503: slot taken
    assert refused.status == 503 and refused.header("Retry-After").isdigit(), refused
    get(dl, f"{API}/jobs/{queued.json['job_id']}/download", srv=busy)             # 409: rendering
    server.wait_job(job_id)
    post(gen, server, f"{API}/generate", body=CHEAP)                            # 200: exists
    get(job, f"{API}/jobs/{job_id}")
    get(job, f"{API}/jobs/{'0' * 32}")
    ok = get(dl, f"{API}/jobs/{job_id}/download")
    get(dl, f"{API}/jobs/{job_id}/download", {"Range": "bytes=0-9"})            # 206
    get(dl, f"{API}/jobs/{job_id}/download", {"If-None-Match": ok.header("ETag")})  # 304
    get(dl, f"{API}/jobs/{job_id}/download", {"Range": "bytes=999999-"})        # 416
    get(dl, f"{API}/jobs/{'0' * 32}/download")                                   # 404
    for body in (CHEAP, {}, {"prompt": "y" * 70_000}, {"params": {"xi": 11}}):
        post(pv, server, f"{API}/preview", body=body)
    refused = post(pv, busy, f"{API}/preview", body={"prompt": "calm piano"})  # 503: slot taken
    assert refused.header("Retry-After").isdigit(), refused
    get(presets, f"{API}/presets")
    get(preset, f"{API}/presets/calm")
    get(preset, f"{API}/presets/no-such-preset")
    get(styles, f"{API}/styles")
    get(style, f"{API}/styles/jazz")
    get(style, f"{API}/styles/no-such-style")
    get(health, f"{API}/healthz")
    styles, style = f"GET {API}/styles", f"GET {API}/styles/{{style_id}}"
    get(styles, f"{API}/styles")
    get(style, f"{API}/styles/jazz")
    get(style, f"{API}/styles/no-such-style")
    busy.wait_job(queued.json["job_id"], timeout=180)  # the refused work was never half-taken
    return got


@pytest.mark.slow
def test_every_documented_status_is_reachable(shared_gunicorn, start_gunicorn):
    busy = start_gunicorn(workers=1, env={"RESONANT_POOL_SIZE": "1", "RESONANT_QUEUE_LIMIT": "1"})
    expected = documented(DOCUMENT)
    got = reach_every_status(shared_gunicorn, busy)
    missing = {op: sorted(codes - got.get(op, set())) for op, codes in expected.items()}
    assert not any(missing.values()), missing
    undocumented = {op: sorted(got[op] - expected.get(op, set())) for op in got}
    assert not any(undocumented.values()), undocumented
    fuzzed = {f"{where}: {op}": dict(sorted(codes.items())) for (where, op), codes in sorted(SEEN.items())}
    print("statuses the fuzzer reached on its own:", json.dumps(fuzzed, indent=1))

