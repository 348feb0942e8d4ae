"""Webhooks (callback_url): signed deliveries to a real receiver on 127.0.0.1, retries, 410,
Retry-After, a restart mid-retry, refused addresses, and sends that never hold a render thread.

The retry schedule is shrunk (RESONANT_WEBHOOK_BACKOFF_SCALE) so retries come in tenths of a
second; nothing here asserts a wall-clock duration: order of events and the records on disk.
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import pathlib
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from requests_hardened.ip_filter import InvalidIPAddress
from standardwebhooks import Webhook, WebhookVerificationError

from app.webhooks.dispatcher import delivery_key
from app.webhooks.schedule import (
    HORIZON_S,
    RETRY_AFTER_MAX_S,
    Backoff,
    parse_retry_after,
)
from app.webhooks.sender import REFUSED, is_public_address, pinned_address, send
from tests.reliability.reliability_harness import wait_for as poll_until

API = "/api/v1"
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
SHORT = {"params": {"n": 12, "k": 5}, "duration_seconds": 1, "format": "midi"}
HOOKS = {"RESONANT_WEBHOOK_SECRET": SECRET, "RESONANT_WEBHOOK_ALLOW_PRIVATE": True,
         "RESONANT_WEBHOOK_BACKOFF_SCALE": 0.01}


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    """`reliability_harness.wait_for`, polling every 20 ms for at most 20 s by default."""
    return poll_until(predicate, timeout=timeout, interval=0.02, what=what)


def delivered_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("resonant_webhook_deliveries_total", {"outcome": outcome}) or 0.0


class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread: records every request and answers from a
    script per path (status, headers), then 200. `hold` makes it wait before answering."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.events: list[str] = []  #: order of what happened (tests append their own steps)
        self.hold: threading.Event | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hold = receiver.hold
                if hold is not None:
                    receiver.events.append("hook-start")
                    hold.wait(timeout=15)
                    receiver.events.append("hook-end")
                with receiver.lock:
                    replies = receiver.script.get(self.path) or []
                    status, headers = replies.pop(0) if replies else (200, {})
                    receiver.received.append({"path": self.path, "headers": dict(self.headers.items()),
                                              "body": body, "status": status})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if path is None or r["path"] == path]

    def wait(self, count: int, path: str | None = None) -> list[dict[str, Any]]:
        return wait_for(lambda: len(self.requests(path)) >= count and self.requests(path),
                        what=f"{count} webhook request(s) at {path or 'any path'}")

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hooks(make_app):
    """An app with webhooks on (loopback allowed) and a fast retry schedule; its test client."""
    return make_app(**HOOKS).test_client()


def post(client: Any, body: dict[str, Any]) -> Any:
    response = client.post(f"{API}/generate", json=body)
    assert response.status_code in (200, 202), response.json
    return response


def pending_dir(client: Any) -> str:
    return os.path.join(client.application.config["RESONANT_CACHE_DIR"], "webhooks", "pending")


def pending(client: Any) -> list[str]:
    try:
        return sorted(name for name in os.listdir(pending_dir(client)) if not name.startswith("."))
    except FileNotFoundError:
        return []


def verify(request: dict[str, Any]) -> dict[str, Any]:
    return Webhook(SECRET).verify(request["body"], request["headers"])


# -- the request field -------------------------------------------------------------------
def test_callback_url_without_a_secret_is_422(client):
    response = client.post(f"{API}/generate", json={**SHORT, "callback_url": "https://example.com/hook"})
    assert response.status_code == 422
    assert "callback_url" in response.json["errors"] and "RESONANT_WEBHOOK_SECRET" in response.json["detail"]


@pytest.mark.parametrize("url", [
    "ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)", "example.com/hook", "http://",
    "https:///path", "http://exa mple.com/", "http://example.com:99999/", "http://[::1/",
    "https://example.com/" + "a" * 2048, "", 5, True, ["https://example.com/"],
])
def test_bad_callback_url_is_422_naming_the_field(hooks, url):
    response = hooks.post(f"{API}/generate", json={**SHORT, "callback_url": url})
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == ["callback_url"]
    assert not pending(hooks)


def test_openapi_documents_the_field(hooks):
    doc = hooks.get(f"{API}/openapi.json").json
    field = doc["components"]["schemas"]["Generate"]["properties"]["callback_url"]
    assert "Standard Webhooks" in field["description"] and field["maxLength"] == 2048
    answer = doc["paths"][f"{API}/generate"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/AcceptedJob")


# -- deliveries ----------------------------------------------------------------------------
def test_signed_delivery_of_the_job_body(hooks, receiver):
    before = delivered_count("delivered")
    response = post(hooks, {**SHORT, "callback_url": receiver.url()})
    job_id = response.json["job_id"]
    assert response.json["callback_url"] == receiver.url()
    [request] = receiver.wait(1)
    body = verify(request)  # raises unless the signature checks out
    job = hooks.get(f"{API}/jobs/{job_id}").json
    assert body == job and job["status"] == "complete"
    assert "callback_url" not in job  # the shared job body never shows a caller's URL
    assert request["headers"]["webhook-id"].startswith("msg_")
    assert request["headers"]["Content-Type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another secret, another sender").decode()).verify(
            request["body"], request["headers"])
    wait_for(lambda: not pending(hooks), what="the record to be deleted")
    assert delivered_count("delivered") == before + 1


def test_the_readme_receiver_accepts_a_delivery_and_refuses_a_forgery(hooks, receiver, monkeypatch):
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Webhooks"):readme.index("## Playground")]
    block = section[section.index("      import os"):section.index("any 2xx ends the delivery")]
    code = "\n".join(line.removeprefix("      ") for line in block.splitlines())
    monkeypatch.setenv("RESONANT_WEBHOOK_SECRET", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(code + "\n", "README.md", "exec"), namespace)  # noqa: S102 - the snippet as printed
    post(hooks, {**SHORT, "callback_url": receiver.url()})
    [request] = receiver.wait(1)
    assert namespace["receive"](request["body"], request["headers"]) == 204
    forged = request["body"].replace(b'"complete"', b'"failed"')
    assert namespace["receive"](forged, request["headers"]) == 400


def test_callback_url_is_not_part_of_the_job_and_each_url_gets_a_delivery(hooks, receiver):
    plain = post(hooks, SHORT).json["job_id"]
    first = post(hooks, {**SHORT, "callback_url": receiver.url("/a")}).json["job_id"]
    second = post(hooks, {**SHORT, "callback_url": receiver.url("/b")}).json["job_id"]
    assert plain == first == second
    [a] = receiver.wait(1, "/a")
    [b] = receiver.wait(1, "/b")
    assert verify(a) == verify(b)
    assert a["headers"]["webhook-id"] != b["headers"]["webhook-id"]


def test_a_job_already_complete_is_delivered_too(hooks, receiver, helpers):
    job_id = post(hooks, SHORT).json["job_id"]
    helpers.ApiHelper(hooks).wait(job_id)
    response = post(hooks, {**SHORT, "callback_url": receiver.url()})
    assert response.status_code == 200 and response.json["callback_url"] == receiver.url()
    [request] = receiver.wait(1)
    assert verify(request)["status"] == "complete"


def test_a_failed_job_is_delivered_with_its_error(make_app, receiver):
    from engine.errors import RenderError

    def failing(spec, **kwargs):
        raise RenderError("synth exploded")

    client = make_app(render=failing, **HOOKS).test_client()
    post(client, {**SHORT, "callback_url": receiver.url()})
    [request] = receiver.wait(1)
    body = verify(request)
    assert body["status"] == "failed" and "synth exploded" in body["error"]


def test_500s_are_retried_with_the_same_webhook_id(hooks, receiver):
    receiver.script["/hook"] = [(500, {}), (502, {})]
    retries, delivered = delivered_count("retry"), delivered_count("delivered")
    post(hooks, {**SHORT, "callback_url": receiver.url()})
    requests = receiver.wait(3)
    assert [r["status"] for r in requests] == [500, 502, 200]
    assert len({r["headers"]["webhook-id"] for r in requests}) == 1
    assert all(verify(r)["status"] == "complete" for r in requests)
    wait_for(lambda: not pending(hooks), what="the record to be deleted")
    assert delivered_count("retry") == retries + 2 and delivered_count("delivered") == delivered + 1


def test_a_receiver_failing_for_24_hours_expires_the_delivery(make_app, receiver, helpers):
    receiver.script["/hook"] = [(500, {})] * 10_000
    client = make_app(**{**HOOKS, "RESONANT_WEBHOOK_BACKOFF_SCALE": 1e-5}).test_client()  # 24 h -> 0.86 s
    helpers.ApiHelper(client).complete(SHORT)  # (so the shrunk horizon is not spent waiting for the render)
    expired = delivered_count("expired")
    post(client, {**SHORT, "callback_url": receiver.url()})
    wait_for(lambda: delivered_count("expired") == expired + 1, what="the delivery to expire")
    assert not pending(client)
    requests = receiver.requests()
    assert len(requests) >= 2 and len({r["headers"]["webhook-id"] for r in requests}) == 1


def test_410_stops_deliveries_to_that_url(hooks, receiver):
    receiver.script["/hook"] = [(410, {})]
    gone = delivered_count("gone")
    state = hooks.application.extensions["resonant"]
    state.webhooks.register("f" * 32, receiver.url())  # another job's callback, not finished yet
    post(hooks, {**SHORT, "callback_url": receiver.url()})
    receiver.wait(1)
    wait_for(lambda: not pending(hooks), what="every record for the URL to be dropped")
    assert len(receiver.requests()) == 1  # no retry: the record that would make one is gone
    assert delivered_count("gone") == gone + 2


def test_retry_after_is_honoured(hooks, receiver):
    receiver.script["/hook"] = [(503, {"Retry-After": "120"})]
    job_id = post(hooks, {**SHORT, "callback_url": receiver.url()}).json["job_id"]
    receiver.wait(1)
    name = f"{delivery_key(job_id, receiver.url())}-complete.json"
    path = os.path.join(pending_dir(hooks), name)

    def rescheduled() -> dict[str, Any] | None:
        try:
            with open(path) as fh:
                record = json.load(fh)
        except (OSError, ValueError):
            return None
        return record if record["attempts"] == 1 else None

    record = wait_for(rescheduled, what="the record to be rescheduled")
    assert record["due_s"] - record["first_attempt_s"] >= 120  # not the scaled 0.05 s backoff
    assert len(receiver.requests()) == 1


def test_a_restart_mid_retry_still_delivers(make_app, receiver):
    receiver.script["/hook"] = [(500, {})] * 1000  # failing until the first app is gone
    first = make_app(**HOOKS)
    job_id = post(first.test_client(), {**SHORT, "callback_url": receiver.url()}).json["job_id"]
    [failed] = receiver.wait(1)
    first.extensions["resonant"].shutdown()  # its dispatcher stops: it sends nothing more
    receiver.events.append("first app stopped")
    with receiver.lock:
        receiver.script["/hook"] = []  # healthy again: 200
    second = make_app(**HOOKS).test_client()  # the same cache directory
    assert second.get(f"{API}/jobs/{job_id}").status_code == 200  # starts its dispatcher
    delivered = wait_for(lambda: [r for r in receiver.requests() if r["status"] == 200], what="a delivery")
    assert delivered[0]["headers"]["webhook-id"] == failed["headers"]["webhook-id"]
    assert verify(delivered[0])["job_id"] == job_id
    wait_for(lambda: not pending(second), what="the record to be deleted")


def test_one_delivery_in_flight_across_dispatchers(make_app, receiver):
    """Two apps on one cache directory (as two workers): the delivery held by one is not sent
    by the other, and it is sent once."""
    receiver.hold = threading.Event()
    one = make_app(**HOOKS).test_client()
    other = make_app(**HOOKS).test_client()
    job_id = post(one, {**SHORT, "callback_url": receiver.url()}).json["job_id"]
    other.get(f"{API}/jobs/{job_id}")  # starts the other dispatcher
    try:
        wait_for(lambda: "hook-start" in receiver.events, what="the first attempt")
        for client in (one, other):
            assert client.application.extensions["resonant"].webhooks.sweep() == 0
    finally:
        receiver.hold.set()
    wait_for(lambda: not pending(one), what="the record to be deleted")
    assert len(receiver.requests()) == 1


def test_a_slow_receiver_never_holds_a_render_thread(make_app, receiver, helpers):
    receiver.hold = threading.Event()  # the receiver answers only when released
    client = make_app(RESONANT_POOL_SIZE=1, **HOOKS).test_client()
    post(client, {**SHORT, "callback_url": receiver.url()})
    try:
        wait_for(lambda: "hook-start" in receiver.events, what="the delivery to reach the receiver")
        other = post(client, {**SHORT, "params": {"n": 14, "k": 3}}).json["job_id"]
        assert helpers.ApiHelper(client).wait(other)["status"] == "complete"  # the one render thread is free
        receiver.events.append("other job complete")
    finally:
        receiver.hold.set()
    wait_for(lambda: "hook-end" in receiver.events, what="the receiver to answer")
    assert receiver.events == ["hook-start", "other job complete", "hook-end"]


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_loses_nothing(tmp_path, receiver):
    """Real gunicorn, 2 workers: the worker sending a delivery is SIGKILLed while the receiver
    holds the request; another worker takes the delivery over and sends it again, same id."""
    from test_gunicorn import Server

    receiver.hold = threading.Event()
    env = {"RESONANT_WEBHOOK_SECRET": SECRET, "RESONANT_WEBHOOK_ALLOW_PRIVATE": "1",
           "RESONANT_WEBHOOK_BACKOFF_SCALE": "0.01"}
    server = Server(tmp_path / "cache", tmp_path / "gunicorn.log", workers=2, env=env)
    try:
        status, job = server.json("POST", f"{API}/generate", {**SHORT, "callback_url": receiver.url()})
        assert status == 202 and job["callback_url"] == receiver.url()
        wait_for(lambda: "hook-start" in receiver.events, what="the first attempt")
        [claim] = (tmp_path / "cache" / "webhooks" / "claims").glob("*.json")
        pid = int(json.loads(claim.read_text())["owner"].split(":")[1])
        assert pid != server.proc.pid
        os.kill(pid, signal.SIGKILL)
        receiver.hold.set()
        requests = receiver.wait(2)
        assert len({r["headers"]["webhook-id"] for r in requests}) == 1
        assert all(verify(r)["job_id"] == job["job_id"] for r in requests)
        wait_for(lambda: not list((tmp_path / "cache" / "webhooks" / "pending").glob("*.json")),
                 what="the record to be deleted")
    finally:
        receiver.hold.set()
        server.stop()


# -- the address rule (SSRF) ---------------------------------------------------------------
REFUSED_HOSTS = {
    "loopback v4": "127.0.0.1", "loopback v6": "::1", "private 10/8": "10.1.2.3",
    "private 192.168/16": "192.168.0.10", "private 172.16/12": "172.16.5.4",
    "link-local (cloud metadata)": "169.254.169.254", "link-local v6": "fe80::1", "unique-local v6": "fd00::1",
    "unspecified": "0.0.0.0", "unspecified v6": "::", "multicast": "224.0.0.1", "reserved": "240.0.0.1",
    "shared CGNAT": "100.64.0.1", "documentation": "192.0.2.1", "broadcast": "255.255.255.255",
    "IPv4-mapped loopback": "::ffff:127.0.0.1", "name resolving to loopback": "localhost",
}


@pytest.mark.parametrize("host", REFUSED_HOSTS.values(), ids=REFUSED_HOSTS.keys())
def test_address_rule_refuses(host):
    with pytest.raises(InvalidIPAddress):
        pinned_address(host, 80)


@pytest.mark.parametrize("host", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_address_rule_allows_public_addresses(host):
    import ipaddress

    assert is_public_address(ipaddress.ip_address(host))
    assert pinned_address(host, 443).strip("[]") == host  # connects to the checked address


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1/"])
def test_only_http_and_https_are_sent(url):
    attempt = send(url, body="{}", webhook_id="msg_x", signer=Webhook(SECRET), timeout_s=1, allow_private=True)
    assert attempt.result == REFUSED


def test_refused_addresses_are_refused_when_delivering(make_app, receiver):
    """Without RESONANT_WEBHOOK_ALLOW_PRIVATE, no callback reaches a non-public address: the
    receiver on 127.0.0.1 hears nothing, and each delivery ends at once as refused."""
    client = make_app(**{**HOOKS, "RESONANT_WEBHOOK_ALLOW_PRIVATE": False}).test_client()
    port = receiver.port
    urls = [receiver.url(), f"http://localhost:{port}/hook", f"http://[::1]:{port}/hook",
            f"http://0.0.0.0:{port}/hook", "http://10.0.0.1/", "http://192.168.1.1/", "http://172.16.0.1/",
            "http://169.254.169.254/latest/meta-data/", "https://224.0.0.1/", "http://240.0.0.1/",
            f"http://[::ffff:127.0.0.1]:{port}/hook"]
    refused = delivered_count("refused")
    for url in urls:
        post(client, {**SHORT, "callback_url": url})
    wait_for(lambda: delivered_count("refused") == refused + len(urls), what="every delivery to be refused")
    assert not pending(client)
    assert receiver.requests() == []


# -- the schedule --------------------------------------------------------------------------
def test_default_schedule():
    backoff = Backoff()
    assert [backoff.delay_s(n) for n in range(1, 8)] == [5, 30, 300, 1800, 3600, 3600, 3600]
    first = last = 1000.0
    attempts = 1
    while (due := backoff.next_attempt_s(attempts=attempts, first_s=first, last_s=last)) is not None:
        attempts, last = attempts + 1, due
    # attempts at 0, 5 s, 35 s, 335 s, 2135 s, then hourly while within 24 h of the first
    assert attempts == 5 + int((HORIZON_S - 2135) // 3600)
    assert last - first <= HORIZON_S


def test_retry_after_parsing():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("30", now_s=now) == 30
    assert parse_retry_after(format_datetime(datetime(2026, 1, 1, 12, 2, tzinfo=UTC), usegmt=True), now_s=now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now_s=now) == 0  # in the past: now
    assert parse_retry_after("999999", now_s=now) == RETRY_AFTER_MAX_S
    assert parse_retry_after("soon", now_s=now) is None and parse_retry_after(None, now_s=now) is None
    backoff = Backoff()
    assert backoff.next_attempt_s(attempts=1, first_s=0, last_s=0, retry_after_s=120) == 120
    assert backoff.next_attempt_s(attempts=1, first_s=0, last_s=0, retry_after_s=1) == 5  # never sooner
