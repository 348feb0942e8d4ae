"""The render pool of one worker process: bounded, single-flight, claim-guarded.

The executor and the heartbeat thread are created lazily on first use, in the process that
uses them (gunicorn forks workers before any request, and a fork after use is detected by
pid), so no thread or lock is ever inherited across a fork.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from app import metrics
from app.claims import Claims
from app.errors import ServiceUnavailable
from app.store import Store
from engine.errors import EngineError
from engine.spec import RenderSpec

if TYPE_CHECKING:
    from engine.synth.tonecache import ToneCache

log = logging.getLogger(__name__)


class PoolFull(ServiceUnavailable):
    """The pool's queue bound is reached; the client should retry later (503 + Retry-After)."""

    def __init__(self) -> None:
        super().__init__("Render queue is full; retry later")


class Runner:
    """Renders specs in a bounded thread pool; at most one render per job id per process."""

    def __init__(self, store: Store, *, pool_size: int, queue_limit: int, cache_max_bytes: int,
                 stale_after: float, tone_cache_bytes: int = 0):
        self.store = store
        self.pool_size = max(1, pool_size)
        self.queue_limit = max(1, queue_limit)
        self.cache_max_bytes = cache_max_bytes
        self.stale_after = stale_after
        self.tone_cache_bytes = tone_cache_bytes
        self._tones: ToneCache | None = None  #: tones reused across this process's renders
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._preview_executor: ThreadPoolExecutor | None = None
        self._inflight: dict[str, Future[None]] = {}
        self._claims: Claims | None = None
        self.memory_failures: dict[str, str] = {}  # failures that could not be written to disk

    @property
    def claims(self) -> Claims:
        self._ensure_started()
        assert self._claims is not None
        return self._claims

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
                self._claims = Claims(self.store, stale_after=self.stale_after)
                self._tones = None
                if self.tone_cache_bytes > 0:  # (numpy and scipy are imported on first use)
                    from engine.synth.tonecache import ToneCache

                    self._tones = ToneCache(self.tone_cache_bytes)
                self._pid = pid

    def shutdown(self, *, wait: bool = True, cancel_queued: bool = False) -> None:
        """Stop both lanes; for tests and tools.

        `wait` blocks until the renders already running (and, unless `cancel_queued`, those
        still queued) have finished.
        """
        for executor in (self._executor, self._preview_executor):
            if executor is not None:
                executor.shutdown(wait=wait, cancel_futures=cancel_queued)

    def in_flight(self, job_id: str) -> bool:
        self._ensure_started()
        with self._lock:
            return job_id in self._inflight

    def submit(self, spec: RenderSpec, *, waiting: bool = False) -> Future[None]:
        """Queue a render of `spec` (or join the one already queued); PoolFull past the bound.

        `waiting`: a client holds its request open for this render (POST /preview). Such renders
        have their own lane of threads, so they never queue behind jobs, short or long, that
        clients poll for.
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
            future = lane.submit(self._run, spec)
            self._inflight[spec.id] = future
            metrics.queued(+1)
        future.add_done_callback(lambda _f, job_id=spec.id: self._forget(job_id))
        return future

    def _forget(self, job_id: str) -> None:
        with self._lock:
            if self._inflight.pop(job_id, None) is not None:
                metrics.queued(-1)

    def _run(self, spec: RenderSpec) -> None:
        claims = self.claims
        try:
            if not claims.acquire(spec.id):
                return  # another worker renders it; pollers will see its result on disk
        except OSError as exc:
            self._fail(spec, f"Cache unavailable: {exc.strerror or exc}")
            return
        try:
            if not self.store.object_ok(spec):
                self._render_and_store(spec)
        except Exception as exc:  # never leave a job in limbo: it fails, the worker lives on
            log.exception("job %s: unexpected error", spec.id)
            self._fail(spec, f"Render failed: {type(exc).__name__}")
        finally:
            claims.release(spec.id)

    def _render_and_store(self, spec: RenderSpec) -> None:
        try:
            import engine.render  # looked up per call: heavy import, and tests may wrap it

            started = time.perf_counter()
            data = engine.render.render(spec, tones=self._tones)
            metrics.observe_render(spec.format, time.perf_counter() - started)
        except EngineError as exc:
            log.warning("job %s: render failed: %s", spec.id, exc)
            self._fail(spec, f"Render failed: {exc}")
            return
        except Exception as exc:  # a bug or MemoryError: the job fails, the worker lives on
            log.exception("job %s: render crashed", spec.id)
            self._fail(spec, f"Render failed: {type(exc).__name__}")
            return
        try:
            self.store.save_spec(spec)  # back again if the cache directory was wiped meanwhile
            self.store.save_object(spec, data)
        except OSError as exc:
            log.error("job %s: cannot store the finished file: %s", spec.id, exc)
            self.store.discard_object(spec)
            self._fail(spec, f"Cache write failed: {exc.strerror or exc}")
            return
        self.memory_failures.pop(spec.id, None)
        metrics.job_finished("complete")
        try:
            self.store.evict(self.cache_max_bytes, keep=spec.id)
        except OSError:  # pragma: no cover - eviction is best effort
            log.exception("cache eviction failed")

    def _fail(self, spec: RenderSpec, message: str) -> None:
        metrics.job_finished("failed")
        try:
            self.store.save_failure(spec.id, message)
        except OSError:
            self.memory_failures[spec.id] = message  # the disk refuses even this; keep it here

    def failure(self, job_id: str) -> str | None:
        """The failure message of a job, from disk or (if the disk refused it) from memory."""
        return self.store.load_failure(job_id) or self.memory_failures.get(job_id)

    def clear_failure(self, job_id: str) -> None:
        self.memory_failures.pop(job_id, None)
        self.store.clear_failure(job_id)
