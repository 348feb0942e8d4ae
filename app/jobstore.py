"""The job store interface and its two backends: the filesystem (default) and Redis.

One owner per operation (DESIGN.md §3):

    save_spec / load_spec            the RenderSpec, durable before the 202 is answered
    acquire / release / lease_live   the lease of the one renderer of a job (renewed by a heartbeat)
    record_failure / failure / clear_failure
    record_done / done               the finished job's {size, sha256}, written once
    open_object                      this host's finished file, verified against `done`
    pending_ids                      accepted jobs with neither `done` nor a failure (recovery)

Finished files always stay on this host's disk (`app.store.Store`); a host that lacks one
renders it again and checks it against `done`. Every backend error a request can meet is
`StoreUnavailable` (503 + Retry-After).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from app import metrics
from app.claims import HOST, Claims, owner_id, process_alive
from app.domain import HashMismatch, StoreUnavailable
from app.store import Store, file_digest, read_json, unlink_quietly
from engine.spec import RenderSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    """The record of a finished job: the size and SHA-256 of its bytes (identical on every host)."""

    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> Done:
        return cls(len(data), hashlib.sha256(data).hexdigest())

    @classmethod
    def from_dict(cls, data: Any) -> Done | None:
        if not isinstance(data, dict) or not isinstance(data.get("size"), int):
            return None
        return cls(data["size"], str(data.get("sha256")))

    def to_json(self) -> str:
        return json.dumps({"size": self.size, "sha256": self.sha256})


class JobStore:
    """The operations on job state; the local disk (`self.disk`) keeps specs and finished files."""

    backend = "abstract"

    def __init__(self, disk: Store):
        self.disk = disk

    # -- specs
    def save_spec(self, spec: RenderSpec) -> None:
        raise NotImplementedError

    def load_spec(self, job_id: str) -> RenderSpec | None:
        raise NotImplementedError

    # -- leases
    def acquire(self, job_id: str) -> bool:
        raise NotImplementedError

    def release(self, job_id: str) -> None:
        raise NotImplementedError

    def lease_live(self, job_id: str) -> bool:
        raise NotImplementedError

    # -- outcomes
    def record_failure(self, job_id: str, message: str) -> None:
        raise NotImplementedError

    def failure(self, job_id: str) -> str | None:
        raise NotImplementedError

    def clear_failure(self, job_id: str) -> None:
        raise NotImplementedError

    def done(self, job_id: str) -> Done | None:
        raise NotImplementedError

    def _publish_done(self, job_id: str, done: Done) -> Done:
        """Write `done` unless a record exists; returns the record that holds."""
        raise NotImplementedError

    def pending_ids(self) -> list[str]:
        raise NotImplementedError

    def forget_pending(self, job_id: str) -> None:
        """Drop a job that has an outcome from the pending set (recovery's clean-up)."""
        raise NotImplementedError

    def health(self) -> dict[str, Any]:
        return {"backend": self.backend}

    def close(self) -> None:
        """Stop background threads (tests)."""

    def republish(self) -> None:
        """Bring the shared records back from this host's disk (a restarted or flushed Redis)."""

    # -- shared logic ---------------------------------------------------------------------
    def record_done(self, spec: RenderSpec, data: bytes) -> Done:
        """Keep the file on this host, then publish `done` once; HashMismatch if it differs.

        Raises OSError when this host's disk refuses the file (the job then fails).
        """
        return self._record(spec, Done.of(data), lambda: self.disk.save_object(spec, data))

    def record_done_file(self, spec: RenderSpec, tmp_path: str) -> Done:
        """`record_done` for a file rendered to disk at `tmp_path` (from `disk.temp_object_path`):
        hashed in chunks, then renamed into place; HashMismatch (and nothing stored) if it
        differs from `done`. The caller removes `tmp_path` if it is still there afterwards.
        """
        mine = Done(*file_digest(tmp_path))
        return self._record(spec, mine, lambda: self.disk.save_object_file(spec, tmp_path, mine.size, mine.sha256))

    def _record(self, spec: RenderSpec, mine: Done, save: Callable[[], None]) -> Done:
        recorded = self.done(spec.id)
        if recorded is not None and recorded != mine:
            raise HashMismatch(spec.id)
        self.disk.save_spec(spec)  # back again if the cache directory was wiped meanwhile
        save()
        if recorded is None:
            recorded = self._publish_done(spec.id, mine)
            if recorded != mine:
                self.disk.discard_object(spec)
                raise HashMismatch(spec.id)
        return recorded

    def open_object(self, spec: RenderSpec, done: Done | None = None) -> tuple[IO[bytes], int] | None:
        """This host's finished file if it verifies (sidecar and `done`): (file, size); else None."""
        done = done or self.done(spec.id)
        if done is None:
            return None
        meta = self.disk.local_meta(spec.id)
        if meta is not None and Done.from_dict(meta) != done:
            log.error("job %s: local file differs from the done record; discarding it", spec.id)
            self.disk.discard_object(spec)
            return None
        return self.disk.open_object(spec)


class FileJobStore(JobStore):
    """Everything in the cache directory: one host, any number of worker processes."""

    backend = "filesystem"

    def __init__(self, disk: Store, *, stale_after: float):
        super().__init__(disk)
        self.claims = Claims(disk, stale_after=stale_after)
        self._republished = False

    def _done_path(self, job_id: str) -> str:
        return self.disk.path("done", f"{job_id}.json")

    def _pending_path(self, job_id: str) -> str:
        return self.disk.path("pending", job_id)

    def _mark_pending(self, job_id: str) -> None:
        """An empty marker file, not fsynced: it is only a hint for recovery, and `republish`
        rebuilds lost markers from the specs (which are written durably) at each start."""
        path = self._pending_path(job_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "ab"):
            pass

    def save_spec(self, spec: RenderSpec) -> None:
        try:
            fresh = not os.path.exists(self.disk.spec_path(spec.id))
            self.disk.save_spec(spec)
            if fresh or (self.done(spec.id) is None and not os.path.exists(self._pending_path(spec.id))):
                self._mark_pending(spec.id)
        except OSError as exc:
            raise StoreUnavailable(f"Cache unavailable: {exc.strerror or exc}") from None

    def load_spec(self, job_id: str) -> RenderSpec | None:
        return self.disk.load_spec(job_id)

    def acquire(self, job_id: str) -> bool:
        return self.claims.acquire(job_id)

    def release(self, job_id: str) -> None:
        self.claims.release(job_id)

    def lease_live(self, job_id: str) -> bool:
        return self.claims.is_live(job_id)

    def record_failure(self, job_id: str, message: str) -> None:
        self.disk.save_failure(job_id, message)
        unlink_quietly(self._pending_path(job_id))

    def failure(self, job_id: str) -> str | None:
        return self.disk.load_failure(job_id)

    def clear_failure(self, job_id: str) -> None:
        self.disk.clear_failure(job_id)

    def done(self, job_id: str) -> Done | None:
        done = Done.from_dict(read_json(self._done_path(job_id)))
        if done is None:  # a cache written before done records: its sidecar is the record
            done = Done.from_dict(self.disk.local_meta(job_id))
            if done is not None:
                with contextlib.suppress(OSError):
                    self._publish_done(job_id, done)
        return done

    def republish(self) -> None:
        """Once per process: mark accepted jobs with no outcome (a cache from before pending
        markers) as pending, so recovery renders them."""
        if self._republished:
            return
        self._republished = True
        for job_id in self.disk.spec_ids():
            if self.done(job_id) is None and self.failure(job_id) is None:
                with contextlib.suppress(OSError):
                    if not os.path.exists(self._pending_path(job_id)):
                        self._mark_pending(job_id)

    def _publish_done(self, job_id: str, done: Done) -> Done:
        path = self._done_path(job_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w") as fh:
            fh.write(done.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # written once: link fails if a record exists
        except FileExistsError:
            pass
        finally:
            unlink_quietly(tmp)
        unlink_quietly(self._pending_path(job_id))
        return self.done(job_id) or done

    def pending_ids(self) -> list[str]:
        try:
            return os.listdir(self.disk.path("pending", ""))
        except OSError:
            return []

    def forget_pending(self, job_id: str) -> None:
        unlink_quietly(self._pending_path(job_id))


# -- Redis ----------------------------------------------------------------------------------
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
#: SET NX the spec; add the job to the pending set unless it is done (atomic: a `done` written
#: meanwhile by another host can never be followed by a stale SADD).
_SAVE_SPEC = ("local created = redis.call('set', KEYS[1], ARGV[1], 'NX') "
              "if redis.call('exists', KEYS[2]) == 0 then redis.call('sadd', KEYS[3], ARGV[2]) end "
              "return created")
_STEAL = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return false")
#: Seconds a request fails fast after a Redis error, so that a hung Redis costs one timeout.
BREAKER_SECONDS = 1.0
SOCKET_TIMEOUT = 0.5
_MEMO_LIMIT = 10_000
EPOCH_KEY = "resonant:epoch"  #: unix time of the first republish into this (empty) Redis
#: Seconds after a Redis came back empty during which an unknown id is a 503, not a 404: other
#: hosts may not have republished their specs yet (they do so within a second).
RESTORE_GRACE_SECONDS = 5.0


class RedisJobStore(JobStore):
    """Specs, leases, failures and `done` in one redis-server; files on this host's disk.

    Keys: resonant:spec:<id> (SET NX), resonant:lease:<id> (SET NX PX, random token),
    resonant:failed:<id>, resonant:done:<id> ({size, sha256}, SET NX), resonant:pending (a set).
    """

    backend = "redis"

    def __init__(self, disk: Store, url: str, *, stale_after: float, client: Any = None):
        super().__init__(disk)
        import redis

        self.url = url
        self.client = client or redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT,
            retry_on_timeout=False, retry=None, health_check_interval=0)
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.lease_ms = max(100, int(stale_after * 1000))
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._steal = self.client.register_script(_STEAL)
        self._save_spec = self.client.register_script(_SAVE_SPEC)
        self._held: dict[str, str] = {}  # job id -> token
        self._specs: dict[str, RenderSpec] = {}
        self._done: dict[str, Done] = {}
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._republished_key = f"resonant:republished:{HOST}:{hashlib.sha1(disk.root.encode()).hexdigest()[:12]}"
        self._beat: threading.Thread | None = None
        self._beat_pid = 0
        self._stop = threading.Event()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One Redis command; StoreUnavailable (fast, for a second) after any Redis error."""
        if time.monotonic() < self._down_until:
            raise StoreUnavailable("Job store unavailable (Redis)")
        try:
            return fn(*args, **kwargs)
        except self.errors as exc:
            self._down_until = time.monotonic() + BREAKER_SECONDS
            metrics.redis_error()
            log.warning("redis error: %s", exc)
            raise StoreUnavailable("Job store unavailable (Redis)") from None

    # -- specs
    def save_spec(self, spec: RenderSpec) -> None:
        self._call(self._save_spec, keys=[f"resonant:spec:{spec.id}", f"resonant:done:{spec.id}",
                                          "resonant:pending"], args=[spec.canonical_json(), spec.id])
        with contextlib.suppress(OSError):
            self.disk.save_spec(spec)  # the local copy: republished if Redis loses it

    def load_spec(self, job_id: str) -> RenderSpec | None:
        """The spec (remembered once read: it never changes, the id is its hash)."""
        spec = self._specs.get(job_id)
        if spec is not None:
            return spec
        spec = self._fetch_spec(job_id)
        if spec is not None:
            if len(self._specs) >= _MEMO_LIMIT:
                self._specs.clear()
            self._specs[job_id] = spec
        return spec

    def _fetch_spec(self, job_id: str) -> RenderSpec | None:
        raw = self._call(self.client.get, f"resonant:spec:{job_id}")
        if raw is None:
            spec = self.disk.load_spec(job_id)
            if spec is not None:  # Redis lost it (restart, FLUSHALL): this host still knows it
                self._republish_one(spec)
            elif self._restoring():
                raise StoreUnavailable("Job store is being restored; retry")
            return spec
        try:
            spec = RenderSpec.from_dict(json.loads(raw))
        except (TypeError, ValueError):
            log.error("job %s: unreadable spec in Redis", job_id)
            return None
        return spec if spec.id == job_id else None

    def _republish_one(self, spec: RenderSpec) -> None:
        meta = Done.from_dict(self.disk.local_meta(spec.id))
        if meta is not None:
            self._call(self.client.set, f"resonant:done:{spec.id}", meta.to_json(), nx=True)
        self._call(self._save_spec, keys=[f"resonant:spec:{spec.id}", f"resonant:done:{spec.id}",
                                          "resonant:pending"], args=[spec.canonical_json(), spec.id])

    def republish(self) -> None:
        """SET NX every local spec (and the `done` of every local file), once per empty Redis."""
        if self._call(self.client.exists, self._republished_key):
            return
        count = 0
        for job_id in self.disk.spec_ids():
            spec = self.disk.load_spec(job_id)
            if spec is not None:
                self._republish_one(spec)
                count += 1
        self._call(self.client.set, EPOCH_KEY, repr(time.time()), nx=True)
        self._call(self.client.set, self._republished_key, "1")
        log.warning("republished %d local spec(s) to Redis", count)

    def _restoring(self) -> bool:
        """True while hosts may still be republishing into a Redis that came back empty."""
        raw = self._call(self.client.get, EPOCH_KEY)
        try:
            return raw is None or time.time() - float(raw) < RESTORE_GRACE_SECONDS
        except ValueError:
            return False

    # -- leases
    def acquire(self, job_id: str) -> bool:
        key = f"resonant:lease:{job_id}"
        token = f"{owner_id()}:{uuid.uuid4().hex}"
        if not self._call(self.client.set, key, token, nx=True, px=self.lease_ms):
            holder = self._call(self.client.get, key)
            if holder is None or not _dead_here(holder.decode()):
                return False
            if not self._call(self._steal, keys=[key], args=[holder, token, self.lease_ms]):
                return False
            metrics.lease_takeover()
            log.warning("job %s: took over the lease of a dead local process", job_id)
        with self._lock:
            self._held[job_id] = token
        self._ensure_heartbeat()
        return True

    def release(self, job_id: str) -> None:
        with self._lock:
            token = self._held.pop(job_id, None)
        if token is not None:
            with contextlib.suppress(StoreUnavailable):  # the lease expires by itself
                self._call(self._release, keys=[f"resonant:lease:{job_id}"], args=[token])

    def lease_live(self, job_id: str) -> bool:
        with self._lock:
            if job_id in self._held:
                return True
        holder = self._call(self.client.get, f"resonant:lease:{job_id}")
        return holder is not None and not _dead_here(holder.decode())

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._beat is not None and self._beat.is_alive() and self._beat_pid == os.getpid():
                return
            self._beat_pid = os.getpid()
            self._beat = threading.Thread(target=self._heartbeat, name="resonant-lease", daemon=True)
            self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease_ms / 3000):
            with self._lock:
                held = list(self._held.items())
            for job_id, token in held:
                try:
                    self._renew(keys=[f"resonant:lease:{job_id}"], args=[token, self.lease_ms])
                except self.errors:
                    metrics.redis_error()

    def close(self) -> None:
        self._stop.set()

    # -- outcomes
    def record_failure(self, job_id: str, message: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(f"resonant:failed:{job_id}", message)
        pipe.srem("resonant:pending", job_id)
        self._call(pipe.execute)

    def failure(self, job_id: str) -> str | None:
        raw = self._call(self.client.get, f"resonant:failed:{job_id}")
        return raw.decode() if raw is not None else None

    def clear_failure(self, job_id: str) -> None:
        self._call(self.client.delete, f"resonant:failed:{job_id}")

    def done(self, job_id: str) -> Done | None:
        """The done record (remembered once read: it is written once and never changes)."""
        done = self._done.get(job_id)
        if done is not None:
            return done
        raw = self._call(self.client.get, f"resonant:done:{job_id}")
        if raw is None:
            return None
        with contextlib.suppress(ValueError):
            done = Done.from_dict(json.loads(raw))
        if done is not None:
            if len(self._done) >= _MEMO_LIMIT:
                self._done.clear()
            self._done[job_id] = done
        return done

    def _publish_done(self, job_id: str, done: Done) -> Done:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(f"resonant:done:{job_id}", done.to_json(), nx=True)
        pipe.srem("resonant:pending", job_id)
        self._call(pipe.execute)
        return self.done(job_id) or done

    def pending_ids(self) -> list[str]:
        return [m.decode() for m in self._call(self.client.smembers, "resonant:pending")]

    def forget_pending(self, job_id: str) -> None:
        self._call(self.client.srem, "resonant:pending", job_id)

    def health(self) -> dict[str, Any]:
        try:
            ok = bool(self.client.ping())
        except self.errors:
            ok = False
        return {"backend": self.backend, "redis": "ok" if ok else "unavailable"}


def _dead_here(owner: str) -> bool:
    """True when a lease's owner (host:pid:thread:token) is a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == HOST and pid.isdigit() and not process_alive(int(pid))


def make_job_store(config: Any) -> JobStore:
    """The backend the configuration names: Redis when RESONANT_REDIS_URL is set, else files."""
    disk = Store(config["RESONANT_CACHE_DIR"])
    stale = float(config["RESONANT_CLAIM_STALE_SECONDS"])
    url = (config.get("RESONANT_REDIS_URL") or "").strip()
    if url:
        return RedisJobStore(disk, url, stale_after=stale)
    return FileJobStore(disk, stale_after=stale)

