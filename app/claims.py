"""Claims: which worker is rendering a job, with a heartbeat so a dead renderer is noticed.

A claim is `claims/<id>.json` holding {"owner": "host:pid:thread"}; its mtime is the
heartbeat, refreshed every HEARTBEAT_SECONDS by one background thread per process while the
render runs. A claim is live while its heartbeat is younger than `stale_after` seconds and,
when the owner is on this host, while its process exists (so a SIGKILLed worker's job is
taken over at once). A claim is taken with O_CREAT|O_EXCL; a stale one is stolen by
os.replace of a fresh claim file. Two workers stealing the same stale claim at the same
instant may both render: harmless, the bytes are identical.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
import threading
import time

from app.store import Store, read_json, unlink_quietly

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
HOST = socket.gethostname()


def owner_id() -> str:
    """This thread's identity as a claim owner: host:pid:thread."""
    return f"{HOST}:{os.getpid()}:{threading.get_ident()}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Claims:
    """Take, refresh, inspect and release claims. One instance per process."""

    def __init__(self, store: Store, *, stale_after: float):
        self.store = store
        self.stale_after = stale_after
        self._held: dict[str, str] = {}  # job id -> owner
        self._lock = threading.Lock()
        self._beat: threading.Thread | None = None

    def path(self, job_id: str) -> str:
        return self.store.path("claims", f"{job_id}.json")

    def is_live(self, job_id: str) -> bool:
        """True while some worker (possibly this one) is rendering the job."""
        with self._lock:
            if job_id in self._held:
                return True
        path = self.path(job_id)
        try:
            age = time.time() - os.stat(path).st_mtime
        except OSError:
            return False
        if age > self.stale_after:
            return False
        data = read_json(path) or {}
        host, _, rest = str(data.get("owner", "")).partition(":")
        pid = rest.partition(":")[0]
        dead_here = host == HOST and pid.isdigit() and not process_alive(int(pid))
        return not dead_here

    def acquire(self, job_id: str) -> bool:
        """Claim the job for this thread; False if another live owner holds it."""
        owner = owner_id()
        payload = json.dumps({"owner": owner}).encode()
        path = self.path(job_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if self.is_live(job_id):
                return False
            self._steal(path, payload)
            if (read_json(path) or {}).get("owner") != owner:
                return False
            log.info("job %s: took over a stale claim", job_id)
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
        with self._lock:
            self._held[job_id] = owner
        self._ensure_heartbeat()
        return True

    def release(self, job_id: str) -> None:
        with self._lock:
            owner = self._held.pop(job_id, None)
        path = self.path(job_id)
        if owner is not None and (read_json(path) or {}).get("owner") == owner:
            unlink_quietly(path)

    def _steal(self, path: str, payload: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        try:
            os.replace(tmp, path)
        except OSError:
            unlink_quietly(tmp)
            raise

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._beat is not None and self._beat.is_alive():
                return
            self._beat = threading.Thread(target=self._heartbeat, name="resonant-heartbeat", daemon=True)
            self._beat.start()

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                held = list(self._held)
            for job_id in held:
                with contextlib.suppress(OSError):
                    os.utime(self.path(job_id))
