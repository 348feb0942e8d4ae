"""The job service: what the views call. A Flask extension with `init_app` (flaskr style).

Per-app state (store, runner, preset catalogue, limits) lives in
`app.extensions["resonant"]`; nothing is kept on the extension object itself, and the
runner starts its threads lazily in the worker process that first needs them.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import IO, Any

from flask import Flask, current_app
from standardwebhooks.webhooks import EmptyWebhookSecretError

from app import metrics
from app.background import PerProcess
from app.config import resolve_presets_path
from app.domain import HashMismatch, PoolFull, StoreUnavailable
from app.errors import (
    JobNotComplete,
    JobNotFound,
    PreviewUnavailable,
    ServiceUnavailable,
)
from app.jobstore import JobStore, make_job_store
from app.runner import BUSY, MISMATCH, UNAVAILABLE, RenderFn, Runner, engine_render
from app.runner import FAILED as RENDER_FAILED
from app.store import is_job_id
from app.webhooks.dispatcher import Dispatcher
from app.webhooks.schedule import Backoff
from engine.errors import ParameterError
from engine.presets import PresetCatalog, load_presets
from engine.resolve import resolve_request
from engine.spec import PREVIEW_DURATION, RenderSpec

log = logging.getLogger(__name__)

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
            "loop": self.spec.loop,
            "params": self.spec.params,
            "tempo": self.spec.tempo,
            "duration_seconds": self.spec.reported_seconds,
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
    """Everything one app needs: settings, the job store, the runner, recovery, the presets."""

    def __init__(self, config: Any, *, render: RenderFn | None = None, job_store: JobStore | None = None):
        self.job_store = job_store or make_job_store(config)
        self.runner = Runner(
            self.job_store,
            render=render or engine_render,
            pool_size=int(config["RESONANT_POOL_SIZE"]),
            queue_limit=int(config["RESONANT_QUEUE_LIMIT"]),
            cache_max_bytes=int(config["RESONANT_CACHE_MAX_BYTES"]),
            tone_cache_bytes=int(config["RESONANT_TONE_CACHE_MB"]) * 1024**2,
        )
        stale = float(config["RESONANT_CLAIM_STALE_SECONDS"])
        self.recovery = Recovery(self.job_store, self.runner, interval=min(1.0, max(0.1, stale / 4)))
        self.catalog: PresetCatalog = load_presets(resolve_presets_path(config["RESONANT_PRESETS"]))
        self.max_prompt_chars = int(config["RESONANT_MAX_PROMPT_CHARS"])
        #: job id -> JSON body of the complete job (it never changes; polled often)
        self.complete_bodies: dict[str, bytes] = {}
        self.preview_timeout = float(config["RESONANT_PREVIEW_TIMEOUT"])
        #: delivers callback_url webhooks; None without RESONANT_WEBHOOK_SECRET (callbacks refused)
        self.webhooks = self._make_dispatcher(config, stale_after_s=stale)

    def _make_dispatcher(self, config: Any, *, stale_after_s: float) -> Dispatcher | None:
        secret = str(config.get("RESONANT_WEBHOOK_SECRET") or "")
        if not secret:
            return None
        try:
            return Dispatcher(
                self.job_store.disk, self.finished_body, secret=secret,
                allow_private=bool(config.get("RESONANT_WEBHOOK_ALLOW_PRIVATE")),
                timeout_s=float(config.get("RESONANT_WEBHOOK_TIMEOUT", 5.0)),
                backoff=Backoff(scale=float(config.get("RESONANT_WEBHOOK_BACKOFF_SCALE", 1.0))),
                stale_after_s=stale_after_s)
        except (ValueError, EmptyWebhookSecretError) as err:  # binascii.Error is a ValueError
            raise ValueError("RESONANT_WEBHOOK_SECRET must be 'whsec_' followed by base64 "
                             f"(Standard Webhooks): {type(err).__name__}") from None

    def ensure_started(self) -> None:
        """Start this process's background threads (recovery, webhook deliveries) if not yet."""
        self.recovery.ensure_started()
        if self.webhooks is not None:
            self.webhooks.ensure_started()

    def shutdown(self) -> None:
        """Stop recovery, webhooks (awaiting attempts under way), the render pool (awaiting
        running renders) and the store's threads."""
        self.recovery.stop()
        if self.webhooks is not None:
            self.webhooks.stop()
        self.runner.shutdown(wait=True, cancel_queued=True)
        self.job_store.close()

    def status(self, spec: RenderSpec) -> Job:
        """The job's status, derived here and only here (from the job store)."""
        store = self.job_store
        if store.done(spec.id) is not None:
            return Job(spec, COMPLETE)
        error = store.failure(spec.id)
        if error is not None:
            return Job(spec, FAILED, error)
        if store.lease_live(spec.id):
            return Job(spec, PROCESSING)
        return Job(spec, PENDING)  # queued, or waiting for recovery to queue it

    def finished_body(self, job_id: str) -> tuple[str, str] | None:
        """(status, job body JSON as GET /jobs/{id} sends it) of a complete or failed job, else
        None: what a webhook delivers."""
        spec = self.job_store.load_spec(job_id) if is_job_id(job_id) else None
        if spec is None:
            return None
        job = self.status(spec)
        if job.status not in (COMPLETE, FAILED):
            return None
        return job.status, json.dumps(job.to_dict(), separators=(",", ":"))

    def load(self, job_id: str) -> RenderSpec:
        """The spec of a known job; JobNotFound otherwise."""
        spec = self.job_store.load_spec(job_id) if is_job_id(job_id) else None
        if spec is None:
            raise JobNotFound()
        return spec


class JobService:
    """Submit, inspect, download and preview jobs (the job store is the truth; memory a cache)."""

    def init_app(self, app: Flask, *, render: RenderFn | None = None, job_store: JobStore | None = None) -> None:
        app.extensions["resonant"] = State(app.config, render=render, job_store=job_store)

    @property
    def state(self) -> State:
        state: State = current_app.extensions["resonant"]
        state.ensure_started()
        return state

    def health(self) -> dict[str, Any]:
        return current_app.extensions["resonant"].job_store.health()

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
            loop=body.get("loop"),
        )

    # -- jobs ---------------------------------------------------------------------------
    def submit(self, spec: RenderSpec, *, callback_url: str | None = None) -> Job:
        """Record the job durably, then make sure something renders it (PoolFull -> 503).

        A failed job is retried: its failure record is cleared and it is queued again.
        `callback_url` is registered (durably) for the job's next outcome, or for its current
        one when it is already complete; it is not part of the job.
        """
        state = self.state
        if callback_url is not None and state.webhooks is None:
            raise ParameterError("callback_url", "", message=(
                "'callback_url' cannot be used: this server has no webhook secret "
                "(RESONANT_WEBHOOK_SECRET)"))
        state.job_store.save_spec(spec)
        job = state.status(spec)
        if job.status == FAILED:
            state.job_store.clear_failure(spec.id)
            job = state.status(spec)
        if callback_url is not None and state.webhooks is not None:
            state.webhooks.register(spec.id, callback_url)
        metrics.cache_lookup("job", hit=job.status == COMPLETE)
        if job.status == PENDING:
            state.runner.submit(spec)
        return job

    def get(self, job_id: str) -> Job:
        """The job's current state (reading never queues a render: recovery does)."""
        state = self.state
        return state.status(state.load(job_id))

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
        """The verified finished file; JobNotComplete (409) when the job is not done.

        A done job whose file this host lacks (evicted, damaged, rendered on another host) is
        rendered here and checked against `done` while the client waits.
        """
        state = self.state
        spec = state.load(job_id)
        done = state.job_store.done(spec.id)
        if done is None:
            raise JobNotComplete(state.status(spec).status)
        opened = state.job_store.open_object(spec, done)
        if opened is None:
            opened = self._render_here(state, spec)
        state.job_store.disk.touch(job_id)
        return Download(opened[0], opened[1], spec)

    def _render_here(self, state: State, spec: RenderSpec) -> tuple[IO[bytes], int]:
        deadline = time.monotonic() + state.preview_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServiceUnavailable("The finished file is being rendered on this host; retry later")
            try:
                outcome = state.runner.submit(spec, waiting=True).result(timeout=remaining)
            except FutureTimeout:
                continue
            if outcome == MISMATCH:
                raise HashMismatch(spec.id)
            if outcome == UNAVAILABLE:
                raise StoreUnavailable("Job store unavailable")
            opened = state.job_store.open_object(spec)
            if opened is not None:
                return opened
            if outcome == RENDER_FAILED:
                raise ServiceUnavailable("The finished file could not be rendered on this host")
            time.sleep(0.05)

    def preview(self, spec: RenderSpec) -> Download:
        """Render the 5-second preview of `spec` (cached like any job) and open it."""
        state = self.state
        spec = spec.with_(duration_seconds=PREVIEW_DURATION)
        deadline = time.monotonic() + state.preview_timeout
        state.job_store.save_spec(spec)
        first_look = True
        while True:
            done = state.job_store.done(spec.id)
            opened = state.job_store.open_object(spec, done) if done is not None else None
            if opened is not None:
                metrics.cache_lookup("preview", hit=first_look)
                state.job_store.disk.touch(spec.id)
                return Download(opened[0], opened[1], spec)
            first_look = False
            error = state.job_store.failure(spec.id) if done is None else None
            if error is not None:
                state.job_store.clear_failure(spec.id)  # the next preview request tries again
                raise PreviewUnavailable(error)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PreviewUnavailable("Preview render timed out")
            try:
                outcome = state.runner.submit(spec, waiting=True).result(timeout=remaining)
            except FutureTimeout:
                raise PreviewUnavailable("Preview render timed out") from None
            if outcome == MISMATCH:
                raise HashMismatch(spec.id)
            if outcome == UNAVAILABLE:
                raise StoreUnavailable("Job store unavailable")
            if outcome == BUSY:
                time.sleep(0.05)  # another worker renders it


class Recovery(PerProcess):
    """One thread per process: queues accepted jobs that nobody renders (their renderer died,
    or the pool was full), and republishes this host's specs to a Redis that lost them."""

    def __init__(self, job_store: JobStore, runner: Runner, *, interval: float):
        super().__init__()
        self.job_store = job_store
        self.runner = runner
        self.interval = interval

    def _start_here(self) -> None:
        threading.Thread(target=self._loop, name="resonant-recovery", daemon=True).start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except StoreUnavailable:
                pass  # counted where it happened; the next round tries again
            except Exception:  # pragma: no cover - recovery must outlive any bug
                log.exception("recovery round failed")

    def sweep(self) -> int:
        """One round; returns how many jobs were queued."""
        store = self.job_store
        store.republish()
        queued = 0
        for job_id in store.pending_ids():
            if self.runner.in_flight(job_id):
                continue
            spec = store.load_spec(job_id) if is_job_id(job_id) else None
            if spec is None or store.done(job_id) is not None or store.failure(job_id) is not None:
                store.forget_pending(job_id)  # it has an outcome (or no spec): nothing to recover
                continue
            if store.lease_live(job_id):
                continue
            try:
                self.runner.submit(spec)
            except PoolFull:
                break
            log.info("job %s: nobody renders it; queued here", job_id)
            metrics.recovered()
            queued += 1
        return queued


def _compact_json(body: dict[str, Any]) -> bytes:
    return current_app.json.dumps(body, separators=(",", ":")).encode() + b"\n"


job_service = JobService()
