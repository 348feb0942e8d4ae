"""Fixtures around the application factory (flaskr style): a temporary cache per test."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app

API = "/api/v1"
SHORT = {"params": {"n": 12, "k": 5}, "duration_seconds": 1, "format": "midi"}


class BufferedClient(FlaskClient):
    """Test client that reads and closes every response (as a WSGI server would)."""

    def open(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def make_app(tmp_path, renders) -> Iterator[Callable[..., Flask]]:
    """Build an app on a fresh cache directory; keyword arguments override settings.

    The app renders through this test's `renders` spy (injected, not patched); `render=` or
    `job_store=` replace it or the configured store. At teardown every app's recovery and
    render pool are stopped and its running renders awaited.
    """
    made: list[Flask] = []

    def make(*, render: Callable[..., bytes] | None = None, job_store: Any = None, **settings: Any) -> Flask:
        config = {
            "TESTING": True,
            "RESONANT_CACHE_DIR": str(tmp_path / "cache"),
            "RESONANT_POOL_SIZE": 2,
            "RESONANT_QUEUE_LIMIT": 16,
            "RESONANT_PREVIEW_TIMEOUT": 60,
            **settings,
        }
        app = create_app(config, render=render or renders, job_store=job_store)
        app.test_client_class = BufferedClient
        made.append(app)
        return app

    yield make
    renders.gate.set()  # a render held by the test must not hold the teardown
    for app in made:
        app.extensions["resonant"].shutdown()


@pytest.fixture
def flask_app(make_app) -> Flask:
    """The Flask application object (`app` is the package)."""
    return make_app()


@pytest.fixture
def client(flask_app) -> FlaskClient:
    return flask_app.test_client()


class RenderSpy:
    """Wraps a renderer (the engine's): counts calls; can block renders until released."""

    def __init__(self, real: Callable[..., bytes]):
        self.real = real
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Semaphore(0)
        self._lock = threading.Lock()

    def __call__(self, spec, **kwargs) -> bytes:
        with self._lock:
            self.calls.append(spec.id)
        self.started.release()
        if not self.gate.wait(timeout=60):
            raise RuntimeError("test gate never opened")
        return self.real(spec, **kwargs)

    def count(self, job_id: str | None = None) -> int:
        with self._lock:
            return len(self.calls) if job_id is None else self.calls.count(job_id)


@pytest.fixture
def renders() -> Iterator[RenderSpy]:
    """The real engine renderer, wrapped to count (and optionally hold) renders; every app of
    the test renders through it."""
    from app.runner import engine_render

    spy = RenderSpy(engine_render)
    yield spy
    spy.gate.set()


class ApiHelper:
    """Client-side steps the tests repeat: submit, poll, wait for completion."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def submit(self, body: dict) -> dict:
        response = self.client.post(f"{API}/generate", json=body)
        assert response.status_code in (200, 202), response.json
        return response.json

    def wait(self, job_id: str, statuses=("complete", "failed"), timeout: float = 90.0) -> dict:
        """Poll GET /jobs/{id} until its status is one of `statuses`; returns the job body."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.get(f"{API}/jobs/{job_id}")
            assert response.status_code == 200, response.json
            if response.json["status"] in statuses:
                return response.json
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {response.json['status']} after {timeout} s")
            time.sleep(0.02)

    def complete(self, body: dict) -> dict:
        """Submit and wait for completion; returns the finished job body."""
        job = self.wait(self.submit(body)["job_id"])
        assert job["status"] == "complete", job
        return job


@pytest.fixture
def api(client) -> ApiHelper:
    return ApiHelper(client)


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The helper classes, for module-scoped fixtures and threads (never `import conftest`)."""
    return SimpleNamespace(ApiHelper=ApiHelper, BufferedClient=BufferedClient)
