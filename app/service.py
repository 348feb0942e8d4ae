"""The job service: what the views call. A Flask extension with `init_app` (flaskr style).

Per-app state (store, runner, preset catalogue, limits) lives in
`app.extensions["resonant"]`; nothing is kept on the extension object itself, and the
runner starts its threads lazily in the worker process that first needs them.
"""
from __future__ import annotations

import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import IO, Any

from flask import Flask, current_app

from app import metrics
from app.config import resolve_presets_path
from app.errors import (
    JobNotComplete,
    JobNotFound,
    PreviewUnavailable,
    ServiceUnavailable,
)
from app.runner import PoolFull, Runner
from app.store import Store, is_job_id
from engine.errors import ParameterError
from engine.presets import PresetCatalog, load_presets
from engine.resolve import resolve_request
from engine.spec import PREVIEW_DURATION, RenderSpec

PENDING, PROCESSING, COMPLETE, FAILED = "pending", "processing", "complete", "failed"
_MEMO_LIMIT = 10_000  #: complete job bodies remembered per process before the memo is reset


@dataclass(frozen=True)
class Job:
    """A job as the API reports it: its spec, status and (when failed) the error."""

    spec: RenderSpec
    status: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "job_id": self.spec.id,
            "status": self.status,
            "preset": self.spec.preset,
            "style": self.spec.style_id,
            "key": self.spec.musical_key.name,
            "variation": self.spec.variation,
            "params": self.spec.params,
            "tempo": self.spec.tempo,
            "duration_seconds": self.spec.duration_seconds,
            "format": self.spec.format,
        }
        if self.status == COMPLETE:
            body["download_url"] = f"/api/v1/jobs/{self.spec.id}/download"
        if self.status == FAILED:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class Download:
    """An open, verified finished file ready to send."""

    file: IO[bytes]
    size: int
    spec: RenderSpec


class State:
    """Everything one app needs: settings, the store, the runner, the preset catalogue."""

    def __init__(self, config: Any):
        self.store = Store(config["RESONANT_CACHE_DIR"])
        self.runner = Runner(
            self.store,
            pool_size=int(config["RESONANT_POOL_SIZE"]),
            queue_limit=int(config["RESONANT_QUEUE_LIMIT"]),
            cache_max_bytes=int(config["RESONANT_CACHE_MAX_BYTES"]),
            stale_after=float(config["RESONANT_CLAIM_STALE_SECONDS"]),
            tone_cache_bytes=int(config["RESONANT_TONE_CACHE_MB"]) * 1024**2,
        )
        self.catalog: PresetCatalog = load_presets(resolve_presets_path(config["RESONANT_PRESETS"]))
        self.max_prompt_chars = int(config["RESONANT_MAX_PROMPT_CHARS"])
        #: job id -> JSON body of the complete job (it never changes; polled often)
        self.complete_bodies: dict[str, bytes] = {}
        self.preview_timeout = float(config["RESONANT_PREVIEW_TIMEOUT"])


class JobService:
    """Submit, inspect, download and preview jobs (the store is the truth; memory is a cache)."""

    def init_app(self, app: Flask) -> None:
        app.extensions["resonant"] = State(app.config)

    @property
    def state(self) -> State:
        return current_app.extensions["resonant"]

    @property
    def catalog(self) -> PresetCatalog:
        return self.state.catalog

    # -- requests -> specs --------------------------------------------------------------
    def resolve(self, body: dict[str, Any]) -> RenderSpec:
        """Turn a validated request body into its RenderSpec (engine errors propagate)."""
        prompt = body.get("prompt")
        limit = self.state.max_prompt_chars
        if prompt is not None and len(prompt) > limit:  # the schema allows up to MAX_PROMPT_CHARS
            raise ParameterError("prompt", f"a string of at most {limit} characters")
        return resolve_request(
            catalog=self.state.catalog,
            prompt=prompt,
            params=body.get("params"),
            tempo=body.get("tempo"),
            duration_seconds=body.get("duration_seconds"),
            format=body.get("format"),
            style=body.get("style"),
            key=body.get("key"),
            variation=body.get("variation"),
        )

    # -- jobs ---------------------------------------------------------------------------
    def submit(self, spec: RenderSpec) -> Job:
        """Record the job on disk, then make sure something renders it (PoolFull -> 503).

        A failed job is retried: its failure record is cleared and it is queued again.
        """
        state = self.state
        self._save_spec(spec)
        if state.runner.failure(spec.id) is not None and not state.store.object_ok(spec):
            state.runner.clear_failure(spec.id)
        job = self._status(state, spec)
        metrics.cache_lookup("job", hit=job.status == COMPLETE)
        if job.status == PENDING:
            state.runner.submit(spec)
        return job

    def get(self, job_id: str) -> Job:
        """The job's current state; a pending job nobody renders is (re)queued here."""
        state = self.state
        spec = self._load(state, job_id)
        job = self._status(state, spec)
        if job.status == PENDING:
            try:
                state.runner.submit(spec)
            except PoolFull:
                pass  # still pending; a later poll queues it
        return job

    def job_json(self, job: Job) -> bytes:
        """The job's JSON body, compact as jsonify writes it; a complete job's is built once."""
        if job.status != COMPLETE:
            return _compact_json(job.to_dict())
        bodies = self.state.complete_bodies
        body = bodies.get(job.spec.id)
        if body is None:
            if len(bodies) >= _MEMO_LIMIT:
                bodies.clear()
            body = bodies[job.spec.id] = _compact_json(job.to_dict())
        return body

    def open_download(self, job_id: str) -> Download:
        """The verified finished file; JobNotComplete (409) otherwise (and it is re-queued)."""
        spec = self._load(self.state, job_id)
        opened = self.state.store.open_object(spec)
        if opened is None:
            job = self.get(job_id)
            raise JobNotComplete(job.status)
        self.state.store.touch(job_id)
        return Download(opened[0], opened[1], spec)

    def preview(self, spec: RenderSpec) -> Download:
        """Render the 5-second preview of `spec` (cached like any job) and open it."""
        state = self.state
        spec = spec.with_(duration_seconds=PREVIEW_DURATION)
        deadline = time.monotonic() + state.preview_timeout
        self._save_spec(spec)
        first_look = True
        while True:
            opened = state.store.open_object(spec)
            if opened is not None:
                metrics.cache_lookup("preview", hit=first_look)
                state.store.touch(spec.id)
                return Download(opened[0], opened[1], spec)
            first_look = False
            job = self._status(state, spec, known_incomplete=True)
            if job.status == FAILED:
                state.runner.clear_failure(spec.id)  # the next preview request tries again
                raise PreviewUnavailable(job.error or "Render failed")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PreviewUnavailable("Preview render timed out")
            if job.status == PENDING:
                try:
                    state.runner.submit(spec, waiting=True).result(timeout=remaining)
                except FutureTimeout:
                    raise PreviewUnavailable("Preview render timed out") from None
            else:
                time.sleep(0.05)  # another worker renders it

    # -- internals ----------------------------------------------------------------------
    def _save_spec(self, spec: RenderSpec) -> None:
        """Record the job; a cache that refuses even that is a 503 (nothing was accepted)."""
        try:
            self.state.store.save_spec(spec)
        except OSError as exc:
            raise ServiceUnavailable(f"Cache unavailable: {exc.strerror or exc}") from None

    @staticmethod
    def _load(state: State, job_id: str) -> RenderSpec:
        if not is_job_id(job_id):
            raise JobNotFound()
        spec = state.store.load_spec(job_id)
        if spec is None:
            raise JobNotFound()
        return spec

    @staticmethod
    def _status(state: State, spec: RenderSpec, *, known_incomplete: bool = False) -> Job:
        if not known_incomplete and state.store.object_ok(spec):
            return Job(spec, COMPLETE)
        error = state.runner.failure(spec.id)
        if error is not None:
            return Job(spec, FAILED, error)
        if state.runner.claims.is_live(spec.id):
            return Job(spec, PROCESSING)
        return Job(spec, PENDING)  # queued here, or nobody renders it (the caller queues it)


def _compact_json(body: dict[str, Any]) -> bytes:
    return current_app.json.dumps(body, separators=(",", ":")).encode() + b"\n"


jobs = JobService()
