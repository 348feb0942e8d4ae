"""This host's cache directory: specs, finished files, and the filesystem backend's records.

The job state proper is reached through `app.jobstore` (one interface, two backends); this
module only reads and writes files.

Layout under the cache directory (DESIGN.md §3):

    jobs/<id>.json          the RenderSpec, written at submit time, before any render
    objects/<id>.<ext>      the finished file
    objects/<id>.meta.json  its size and SHA-256 (written after the file); mtime = last use
    claims/<id>.json        owner while a worker renders it (see app.claims)
    failed/<id>.json        the error message when the render failed (filesystem backend)
    done/<id>.json          {size, sha256} of the finished job, written once (filesystem backend)
    pending/<id>            accepted, neither done nor failed (filesystem backend; recovery)

Every write is temp file + fsync + os.replace, so a reader never sees half a file. Directories
are created on demand by every write, so a wiped cache directory heals itself.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from engine.spec import RenderSpec

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"[0-9a-f]{32}")
_CHUNK = 1 << 20
_MEMO_LIMIT = 10_000  #: specs and verifications remembered per process before the memo is reset


def is_job_id(value: str) -> bool:
    """True for a well-formed job id (32 lower-case hex digits); checked before any disk access."""
    return JOB_ID.fullmatch(value) is not None


def atomic_write(path: str, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file in the same directory, fsync, replace)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: str) -> dict[str, Any] | None:
    """A JSON object from `path`, or None when it is missing or unreadable."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


@dataclass(frozen=True)
class ObjectInfo:
    """A finished file that verified: its path and size in bytes."""

    path: str
    size: int


class Store:
    """Paths and atomic reads/writes of the cache directory. Thread-safe; no threads of its own."""

    def __init__(self, root: str, *, write: Callable[[str, bytes], None] = atomic_write):
        self.root = os.path.abspath(root)
        self.write = write  #: the atomic file writer (tests inject a failing one)
        # job id -> identity of (finished file, sidecar) whose SHA-256 was checked in this process
        self._verified: dict[str, tuple[int, ...]] = {}
        # job id -> (identity of the spec file, its RenderSpec): specs never change, parse once
        self._specs: dict[str, tuple[tuple[int, int], RenderSpec]] = {}
        self._lock = threading.Lock()

    # -- paths --------------------------------------------------------------------------
    def path(self, kind: str, name: str) -> str:
        return f"{self.root}{os.sep}{kind}{os.sep}{name}"  # os.path.join, minus its cost per poll

    def spec_path(self, job_id: str) -> str:
        return self.path("jobs", f"{job_id}.json")

    def object_path(self, spec: RenderSpec) -> str:
        return self.path("objects", f"{spec.id}.{spec.extension}")

    def meta_path(self, job_id: str) -> str:
        return self.path("objects", f"{job_id}.meta.json")

    def failure_path(self, job_id: str) -> str:
        return self.path("failed", f"{job_id}.json")

    # -- specs --------------------------------------------------------------------------
    def save_spec(self, spec: RenderSpec) -> None:
        """Write the job's spec unless it is already there (it never changes: the id is its hash)."""
        path = self.spec_path(spec.id)
        if not os.path.exists(path):
            self.write(path, spec.canonical_json().encode())

    def load_spec(self, job_id: str) -> RenderSpec | None:
        """The spec of a known job, or None (unknown id, or a spec file that does not verify)."""
        path = self.spec_path(job_id)
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_ino, st.st_mtime_ns)
        with self._lock:
            known = self._specs.get(job_id)
        if known is not None and known[0] == key:
            return known[1]
        data = read_json(path)
        if data is None:
            return None
        try:
            spec = RenderSpec.from_dict(data)
        except (TypeError, ValueError):
            log.warning("job %s: unreadable spec file", job_id)
            return None
        if spec.id != job_id:
            return None
        with self._lock:
            if len(self._specs) >= _MEMO_LIMIT:
                self._specs.clear()
            self._specs[job_id] = (key, spec)
        return spec

    # -- finished files -----------------------------------------------------------------
    def temp_object_path(self, spec: RenderSpec) -> str:
        """A fresh temporary path in objects/ for a file rendered straight to disk (its name starts
        with .tmp-, which eviction skips); `save_object_file` moves it into place."""
        directory = self.path("objects", "")
        os.makedirs(directory, exist_ok=True)
        return f"{directory}.tmp-{uuid.uuid4().hex}.{spec.extension}"

    def save_object_file(self, spec: RenderSpec, tmp_path: str, size: int, sha256: str) -> None:
        """Make the file rendered at `tmp_path` (of `size` bytes and that SHA-256) the finished
        file: fsync, rename into place, then the sidecar (as `save_object` does for bytes)."""
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_path, self.object_path(spec))
        self.write(self.meta_path(spec.id), json.dumps({"size": size, "sha256": sha256}).encode())

    def save_object(self, spec: RenderSpec, data: bytes) -> None:
        """Store the finished file, then its sidecar (size + SHA-256): complete only once both exist."""
        self.write(self.object_path(spec), data)
        meta = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        self.write(self.meta_path(spec.id), json.dumps(meta).encode())

    def open_object(self, spec: RenderSpec) -> tuple[IO[bytes], int] | None:
        """Open the finished file if it verifies: (file, size); else None.

        No sidecar means not finished (it is written last). The size is checked against the
        sidecar on every call (from fstat of the opened file);
        the SHA-256 once per process per (inode, size, mtime, ctime), so a file truncated,
        altered or replaced on disk is re-hashed. A file that fails is deleted (with its
        sidecar) so the job reads as pending and is rendered again.
        """
        meta, meta_ino = _read_meta(self.meta_path(spec.id))
        if meta is None:
            return None  # being written (the sidecar comes last), or orphaned: render again
        try:
            fh = open(self.object_path(spec), "rb")  # noqa: SIM115 - handed to the response
        except OSError:
            return None
        try:
            st = os.fstat(fh.fileno())
            if st.st_size != meta.get("size"):
                raise ValueError("size")
            key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, meta_ino)
            with self._lock:
                known = self._verified.get(spec.id) == key
            if not known:
                if _sha256_of(fh) != meta.get("sha256"):
                    raise ValueError("checksum")
                fh.seek(0)
                with self._lock:
                    if len(self._verified) >= _MEMO_LIMIT:
                        self._verified.clear()
                    self._verified[spec.id] = key
            return fh, st.st_size
        except (OSError, ValueError) as exc:
            fh.close()
            log.warning("job %s: finished file failed verification (%s); discarding it", spec.id, exc)
            self.discard_object(spec)
            return None

    def object_ok(self, spec: RenderSpec) -> bool:
        """True when the finished file exists and verifies.

        Fast path (every poll of a complete job): two stats, when the file and its sidecar are
        the very ones this process already checked (same inode, size, mtime and ctime).
        """
        try:
            meta_ino = os.stat(self.meta_path(spec.id)).st_ino
            st = os.stat(self.object_path(spec))
        except OSError:
            return False
        with self._lock:
            known = self._verified.get(spec.id)
        if known == (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, meta_ino):
            return True
        opened = self.open_object(spec)
        if opened is None:
            return False
        opened[0].close()
        return True

    def local_meta(self, job_id: str) -> dict[str, Any] | None:
        """The sidecar {size, sha256} of this host's finished file, or None."""
        return _read_meta(self.meta_path(job_id))[0]

    def spec_ids(self) -> list[str]:
        """Ids of every spec kept in this cache directory."""
        try:
            names = os.listdir(self.path("jobs", ""))
        except OSError:
            return []
        return [n[:-5] for n in names if n.endswith(".json") and is_job_id(n[:-5])]

    def touch(self, job_id: str) -> None:
        """Record a use of the finished file (the sidecar's mtime orders LRU eviction)."""
        with contextlib.suppress(OSError):
            os.utime(self.meta_path(job_id))

    def discard_object(self, spec: RenderSpec) -> None:
        unlink_quietly(self.meta_path(spec.id))
        unlink_quietly(self.object_path(spec))
        with self._lock:
            self._verified.pop(spec.id, None)

    def evict(self, max_bytes: int, keep: str | None = None) -> list[str]:
        """Delete least recently used finished files until they fit in `max_bytes`.

        Specs are kept, so an evicted job reads as pending and is rendered again on demand.
        `keep` (the file just rendered) is never evicted. Returns the evicted ids.
        """
        entries: list[tuple[float, str, str, int]] = []  # (last use, id, path, size)
        total = 0
        try:
            with os.scandir(self.path("objects", "")) as it:
                names = [(e.name, e.path) for e in it if not e.name.startswith(".tmp-")]
        except OSError:
            return []
        for name, path in names:
            if name.endswith(".meta.json"):
                continue
            job_id = name.split(".", 1)[0]
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            try:
                used = os.stat(self.meta_path(job_id)).st_mtime
            except OSError:
                used = 0.0  # no sidecar: not servable anyway, evict it first
            total += size
            entries.append((used, job_id, path, size))
        evicted = []
        for used, job_id, path, size in sorted(entries):
            if total <= max_bytes:
                break
            if job_id == keep:
                continue
            unlink_quietly(self.meta_path(job_id))
            unlink_quietly(path)
            total -= size
            evicted.append(job_id)
        if evicted:
            log.info("cache over %d bytes: evicted %d file(s)", max_bytes, len(evicted))
        return evicted

    # -- failures -----------------------------------------------------------------------
    def save_failure(self, job_id: str, message: str) -> None:
        self.write(self.failure_path(job_id), json.dumps({"error": message}).encode())

    def load_failure(self, job_id: str) -> str | None:
        data = read_json(self.failure_path(job_id))
        if data is None:
            return None
        return str(data.get("error") or "Render failed")

    def clear_failure(self, job_id: str) -> None:
        unlink_quietly(self.failure_path(job_id))


def _read_meta(path: str) -> tuple[dict[str, Any] | None, int]:
    """The sidecar's JSON object and inode, or (None, 0) when it is missing or unreadable."""
    try:
        with open(path, "rb") as fh:
            ino = os.fstat(fh.fileno()).st_ino
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return None, 0
    return (data, ino) if isinstance(data, dict) else (None, 0)


def file_digest(path: str) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex) of the file at `path`, read in chunks."""
    with open(path, "rb") as fh:
        digest = _sha256_of(fh)
        return fh.tell(), digest


def _sha256_of(fh: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
