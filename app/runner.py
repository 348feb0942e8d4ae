"""The render pool of one worker process: it runs a spec and reports an outcome.

Bounded, single-flight per job id, lease-guarded. The render function and the job store are
given to it (tests inject theirs). The executor is created lazily in the process that uses it
(gunicorn forks workers before any request; a fork after use is detected by pid), so no thread
or lock is ever inherited across a fork.

Outcomes (the value of the future `submit` returns):
    COMPLETE   the file is on this host's disk and `done` is recorded
    FAILED     a failure record was written
    BUSY       another live lease holder renders it (its result will appear in the store)
    MISMATCH   this host's render differs from `done`: nothing stored, nothing served
    UNAVAILABLE the job store could not be reached; nothing recorded (recovery retries)
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from app import metrics
from app.domain import HashMismatch, PoolFull, StoreUnavailable
from app.jobstore import JobStore
from app.store import unlink_quietly
from engine.errors import EngineError
from engine.spec import RenderSpec

if TYPE_CHECKING:
    from engine.synth.tonecache import ToneCache

log = logging.getLogger(__name__)

COMPLETE, FAILED, BUSY, MISMATCH, UNAVAILABLE = "complete", "failed", "busy", "mismatch", "unavailable"

#: render(spec, tones=..., [path=...]) -> bytes, or None when it wrote the file at `path`
RenderFn = Callable[..., "bytes | None"]

#: Formats rendered straight into a file on disk (never whole in memory): the runner passes
#: `path=` to the render function for these.
FILE_FORMATS = frozenset({"stems"})


def engine_render(spec: RenderSpec, *, path: str | None = None, **kwargs: Any) -> bytes | None:
    """The engine's renderer (imported on first use: numpy and scipy are heavy): the bytes, or
    with `path` the file written there (returns None)."""
    import engine.render

    if path is None:
        return engine.render.render(spec, **kwargs)
    engine.render.render_to_file(spec, path, **kwargs)
    return None


class Runner:
    """Renders specs in a bounded thread pool; at most one render per job id per process."""

    def __init__(self, job_store: JobStore, *, render: RenderFn = engine_render, pool_size: int,
                 queue_limit: int, cache_max_bytes: int, tone_cache_bytes: int = 0):
        self.job_store = job_store
        self.render = render
        self.pool_size = max(1, pool_size)
        self.queue_limit = max(1, queue_limit)
        self.cache_max_bytes = cache_max_bytes
        self.tone_cache_bytes = tone_cache_bytes
        self._tones: ToneCache | None = None  #: tones reused across this process's renders
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._preview_executor: ThreadPoolExecutor | None = None
        self._inflight: dict[str, Future[str]] = {}

    def _ensure_started(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid != pid:  # first use in this process (or first use after a fork)
                self._lock = threading.Lock()
                self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="resonant-render")
                self._preview_executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="resonant-preview")
                self._inflight = {}
                self._tones = None
                if self.tone_cache_bytes > 0:  # (numpy and scipy are imported on first use)
                    from engine.synth.tonecache import ToneCache

                    self._tones = ToneCache(self.tone_cache_bytes)
                self._pid = pid

    def shutdown(self, *, wait: bool = True, cancel_queued: bool = False) -> None:
        """Stop both lanes; for tests and tools."""
        for executor in (self._executor, self._preview_executor):
            if executor is not None:
                executor.shutdown(wait=wait, cancel_futures=cancel_queued)

    def in_flight(self, job_id: str) -> bool:
        self._ensure_started()
        with self._lock:
            return job_id in self._inflight

    def submit(self, spec: RenderSpec, *, waiting: bool = False) -> Future[str]:
        """Queue a render of `spec` (or join the one already queued); PoolFull past the bound.

        `waiting`: a client holds its request open for this render (preview, download of a
        file this host lacks). Such renders have their own lane of threads, so they never queue
        behind jobs that clients poll for.
        """
        self._ensure_started()
        assert self._executor is not None and self._preview_executor is not None
        lane = self._preview_executor if waiting else self._executor
        with self._lock:
            future = self._inflight.get(spec.id)
            if future is not None:
                return future
            if len(self._inflight) >= self.queue_limit:
                raise PoolFull()
            future = lane.submit(self._run, spec, waiting)
            self._inflight[spec.id] = future
            metrics.queued(+1)
        future.add_done_callback(lambda _f, job_id=spec.id: self._forget(job_id))
        return future

    def _forget(self, job_id: str) -> None:
        with self._lock:
            if self._inflight.pop(job_id, None) is not None:
                metrics.queued(-1)

    def _run(self, spec: RenderSpec, local: bool) -> str:
        """Make the job done; with `local` (a client waits for the file) also on this disk."""
        store = self.job_store
        try:
            if store.done(spec.id) is not None:
                return self._make_local(spec) if local else COMPLETE
            if not store.acquire(spec.id):
                return BUSY  # another renderer holds the lease; its result lands in the store
            try:
                if store.done(spec.id) is not None:  # finished while we queued
                    return self._make_local(spec) if local else COMPLETE
                return self._render_and_record(spec)
            finally:
                store.release(spec.id)
        except StoreUnavailable as exc:
            log.warning("job %s: job store unavailable: %s", spec.id, exc)
            return UNAVAILABLE
        except Exception as exc:  # never leave a job in limbo: it fails, the worker lives on
            log.exception("job %s: unexpected error", spec.id)
            return self._fail(spec, f"Render failed: {type(exc).__name__}")

    def _make_local(self, spec: RenderSpec) -> str:
        """The job is done (maybe on another host): render it here unless this disk has it."""
        opened = self.job_store.open_object(spec)
        if opened is not None:
            opened[0].close()
            return COMPLETE
        metrics.rerender_on_miss()
        return self._render_and_record(spec)

    def _render_and_record(self, spec: RenderSpec) -> str:
        tmp = self.job_store.disk.temp_object_path(spec) if spec.format in FILE_FORMATS else None
        try:
            return self._render_and_record_to(spec, tmp)
        finally:
            if tmp is not None:
                unlink_quietly(tmp)

    def _render_and_record_to(self, spec: RenderSpec, tmp: str | None) -> str:
        """Render (into `tmp` when given: a file format), then record the result as done."""
        try:
            started = time.perf_counter()
            data = self.render(spec, tones=self._tones) if tmp is None else \
                self.render(spec, tones=self._tones, path=tmp)
            metrics.observe_render(spec.format, time.perf_counter() - started)
        except EngineError as exc:
            log.warning("job %s: render failed: %s", spec.id, exc)
            return self._fail(spec, f"Render failed: {exc}")
        except Exception as exc:  # a bug or MemoryError: the job fails, the worker lives on
            log.exception("job %s: render crashed", spec.id)
            return self._fail(spec, f"Render failed: {type(exc).__name__}")
        try:
            if data is None:  # written to tmp
                self.job_store.record_done_file(spec, tmp)
            else:
                self.job_store.record_done(spec, data)
        except HashMismatch:
            metrics.hash_mismatch()
            log.error("HASH MISMATCH job %s: this host rendered different bytes than the done "
                      "record; nothing stored or served (engine or library versions differ?)", spec.id)
            return MISMATCH
        except OSError as exc:
            log.error("job %s: cannot store the finished file: %s", spec.id, exc)
            self.job_store.disk.discard_object(spec)
            return self._fail(spec, f"Cache write failed: {exc.strerror or exc}")
        metrics.job_finished("complete")
        try:
            self.job_store.disk.evict(self.cache_max_bytes, keep=spec.id)
        except OSError:  # pragma: no cover - eviction is best effort
            log.exception("cache eviction failed")
        return COMPLETE

    def _fail(self, spec: RenderSpec, message: str) -> str:
        metrics.job_finished("failed")
        try:
            self.job_store.record_failure(spec.id, message)
        except (OSError, StoreUnavailable) as exc:  # not recorded: the job stays pending (retried)
            log.error("job %s: cannot record its failure (%s): %s", spec.id, exc, message)
        return FAILED
