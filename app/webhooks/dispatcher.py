"""Webhook deliveries: kept on disk, sent at least once, one in flight per (job, URL, event).

Layout under the cache directory:

    webhooks/pending/<key>.json          a callback waiting for its job's outcome
    webhooks/pending/<key>-<event>.json  a delivery of that outcome (event: complete | failed)
    webhooks/claims/<name>.json          the worker sending it (app.claims: O_EXCL, heartbeat)

`key` is a hash of (job id, URL). A POST carrying a callback_url writes the waiting record
(fsynced) before it is answered. One dispatcher thread per worker process scans the directory
every few tenths of a second: it asks the job store (filesystem or Redis, so a job rendered on
another host counts) whether a waiting record's job has finished, and if so turns the record
into a delivery of that event, with the job body and its webhook-id fixed then (a hash of job,
URL and event: the same on every retry, in every process). Due deliveries are claimed and sent
on the dispatcher's own small thread pool, never on a render thread. After each attempt the
record is deleted (delivered, 410 gone, refused address, expired) or rewritten with its next
due time (app.webhooks.schedule), before the claim is released. A worker killed mid-send
leaves the record as it was, so another worker sends it again: at least once.

The race accepted: a job that failed and is resubmitted with the same URL while the failure's
delivery is being set up may have that URL's interest in the new outcome folded into the
failure's delivery.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

from standardwebhooks import Webhook

from app import metrics
from app.background import PerProcess
from app.claims import Claims
from app.domain import StoreUnavailable
from app.store import Store, read_json, unlink_quietly
from app.webhooks.schedule import HORIZON_S, Backoff, parse_retry_after
from app.webhooks.sender import DELIVERED, GONE, REFUSED, Attempt, send

log = logging.getLogger(__name__)

#: (job id) -> (status, job body JSON) once the job is complete or failed, else None.
Outcome = Callable[[str], "tuple[str, str] | None"]
Sender = Callable[..., Attempt]


def delivery_key(job_id: str, url: str) -> str:
    return hashlib.sha256(f"{job_id}\n{url}".encode()).hexdigest()[:32]


def webhook_id(job_id: str, url: str, event: str) -> str:
    """The webhook-id of the delivery of `event` of `job_id` to `url` (stable across retries)."""
    return "msg_" + hashlib.sha256(f"{job_id}\n{url}\n{event}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Delivery:
    """A record in webhooks/pending; times are epoch seconds."""

    job_id: str
    url: str
    registered_s: float
    event: str | None = None  #: the job's outcome being delivered; None: still waiting for it
    webhook_id: str | None = None
    body: str | None = None  #: the job body as sent (fixed with the event, so retries sign the same)
    attempts: int = 0
    first_attempt_s: float | None = None
    due_s: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Delivery | None:
        try:
            return cls(**data) if data else None
        except TypeError:
            return None

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()


class DeliveryClaims(Claims):
    """app.claims with its files in webhooks/claims (named like the delivery record)."""

    def path(self, job_id: str) -> str:
        return self.store.path(os.path.join("webhooks", "claims"), f"{job_id}.json")


class Dispatcher(PerProcess):
    """Registers callbacks and delivers them; one scanning thread and a send pool per process."""

    def __init__(self, disk: Store, outcome: Outcome, *, secret: str, allow_private: bool,
                 timeout_s: float, backoff: Backoff, stale_after_s: float,
                 interval_s: float = 0.25, max_sends: int = 4, sender: Sender = send):
        self.disk = disk
        self.outcome = outcome
        self.signer = Webhook(secret)
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.backoff = backoff
        self.interval_s = interval_s
        self.max_sends = max_sends
        self.sender = sender
        self.claims = DeliveryClaims(disk, stale_after=stale_after_s)
        super().__init__()
        self._wake = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[str] = set()
        #: record name -> ((inode, mtime_ns), record): parsed again only when its file changed
        #: (a stale memo is harmless: a record is read again from disk once claimed)
        self._records: dict[str, tuple[tuple[int, int], Delivery]] = {}

    def path(self, name: str) -> str:
        return self.disk.path(os.path.join("webhooks", "pending"), f"{name}.json")

    # -- lifecycle ------------------------------------------------------------------------
    def _start_here(self) -> None:
        """The scanning thread and the send pool of this process."""
        self._in_flight = set()
        self._pool = ThreadPoolExecutor(self.max_sends, thread_name_prefix="resonant-webhook")
        threading.Thread(target=self._loop, name="resonant-webhooks", daemon=True).start()

    def stop(self) -> None:
        """Stop scanning and wait for the attempts under way (each ends within its timeouts)."""
        super().stop()
        self._wake.set()
        pool = self._pool
        if pool is not None and self.started_here:
            pool.shutdown(wait=True, cancel_futures=True)
            with self._lock:
                cancelled = list(self._in_flight)
            for name in cancelled:  # claimed but never started: free them for the next process
                self._finish(name)

    def wake(self) -> None:
        """Scan now rather than at the next interval (a callback was registered)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.sweep()
            except StoreUnavailable:
                pass  # counted where it happened; the next round tries again
            except Exception:  # pragma: no cover - the dispatcher must outlive any bug
                log.exception("webhook round failed")

    # -- registering ----------------------------------------------------------------------
    def register(self, job_id: str, url: str) -> None:
        """Durably note that `url` wants the next outcome of `job_id` (idempotent)."""
        path = self.path(delivery_key(job_id, url))
        if not os.path.exists(path):
            self.disk.write(path, Delivery(job_id, url, registered_s=time.time()).to_bytes())
        self.wake()

    # -- scanning -------------------------------------------------------------------------
    def sweep(self) -> int:
        """One round over the pending records; returns how many sends it started."""
        started = 0
        now_s = time.time()
        try:
            entries = list(os.scandir(os.path.dirname(self.path("x"))))
        except FileNotFoundError:
            return 0
        names = {entry.name[:-5] for entry in entries}
        self._records = {name: memo for name, memo in self._records.items() if name in names}
        for entry in entries:
            if self._stop.is_set():
                break
            if not entry.name.endswith(".json") or entry.name.startswith("."):
                continue
            name = entry.name[:-5]
            with self._lock:
                if name in self._in_flight:
                    continue
            try:
                identity = (entry.inode(), entry.stat().st_mtime_ns)
            except FileNotFoundError:
                continue
            memo = self._records.get(name)
            if memo is not None and memo[0] == identity:
                record: Delivery | None = memo[1]
            else:
                record = Delivery.from_dict(read_json(entry.path))
                if record is None:
                    if os.path.exists(entry.path):  # (else: another worker just finished it)
                        self._drop(name, "error", f"webhook record {entry.path} is unreadable: dropped")
                    continue
                self._records[name] = (identity, record)
            if record.event is None:
                self._settle(name, record, now_s)
                continue
            if record.due_s > now_s:
                continue
            with self._lock:
                if len(self._in_flight) >= self.max_sends:
                    continue  # every send thread busy: this one waits for a later round
            started += self._start(name)
        return started

    def _settle(self, name: str, record: Delivery, now_s: float) -> None:
        """A waiting record: once its job has an outcome, turn it into that event's delivery."""
        if now_s - record.registered_s > HORIZON_S * self.backoff.scale:
            self._drop(name, "expired", "the job never finished")
            return
        outcome = self.outcome(record.job_id)
        if outcome is None or not self.claims.acquire(name):
            return
        try:
            if not os.path.exists(self.path(name)):
                return  # another worker settled it
            event, body = outcome
            target = self.path(f"{name}-{event}")
            if not os.path.exists(target):
                delivery = replace(record, event=event, body=body, due_s=now_s,
                                   webhook_id=webhook_id(record.job_id, record.url, event))
                self.disk.write(target, delivery.to_bytes())
            unlink_quietly(self.path(name))
            self._wake.set()  # send it in the next round, without waiting an interval
        finally:
            self.claims.release(name)

    def _start(self, name: str) -> int:
        """Claim a due delivery and hand it to the send pool; 1 if started."""
        if not self.claims.acquire(name):
            return 0
        record = Delivery.from_dict(read_json(self.path(name)))
        if record is None or record.event is None or record.due_s > time.time() or self._pool is None:
            self.claims.release(name)  # sent and rewritten or deleted by another worker meanwhile
            return 0
        with self._lock:
            self._in_flight.add(name)
        try:
            self._pool.submit(self._deliver, name, record)
        except RuntimeError:  # the pool is shut down: stopping
            self._finish(name)
            return 0
        return 1

    # -- one attempt ----------------------------------------------------------------------
    def _deliver(self, name: str, record: Delivery) -> None:
        started_s = time.time()
        try:
            attempt = self.sender(record.url, body=record.body or "", webhook_id=record.webhook_id or "",
                                  signer=self.signer, timeout_s=self.timeout_s,
                                  allow_private=self.allow_private)
            self._record(name, record, attempt, started_s)
        except Exception:
            log.exception("webhook %s to %s: attempt failed", record.webhook_id, record.url)
            self._reschedule(name, record, started_s, None, outcome="error")
        finally:
            self._finish(name)

    def _record(self, name: str, record: Delivery, attempt: Attempt, started_s: float) -> None:
        where = f"webhook {record.webhook_id} ({record.event} of job {record.job_id}) to {record.url}"
        if attempt.result == DELIVERED:
            self._drop(name, "delivered", f"{where}: delivered (HTTP {attempt.status})", level=logging.INFO)
        elif attempt.result == GONE:
            self._drop(name, "gone", f"{where}: 410 Gone, no more deliveries to this URL")
            self._drop_url(record.url)
        elif attempt.result == REFUSED:
            self._drop(name, "refused", f"{where}: {attempt.detail}")
        else:
            retry_after_s = parse_retry_after(attempt.retry_after, now_s=time.time())
            log.info("%s: attempt %d failed (%s)", where, record.attempts + 1, attempt.detail)
            self._reschedule(name, record, started_s, retry_after_s, outcome="retry")

    def _reschedule(self, name: str, record: Delivery, started_s: float, retry_after_s: float | None,
                    *, outcome: str) -> None:
        attempts = record.attempts + 1
        first_s = record.first_attempt_s if record.first_attempt_s is not None else started_s
        due_s = self.backoff.next_attempt_s(attempts=attempts, first_s=first_s, last_s=started_s,
                                            retry_after_s=retry_after_s)
        if due_s is None:
            self._drop(name, "expired", f"webhook {record.webhook_id} to {record.url}: "
                       f"given up after {attempts} attempts")
            return
        metrics.webhook_delivery(outcome)
        self.disk.write(self.path(name), replace(record, attempts=attempts, first_attempt_s=first_s,
                                                 due_s=due_s).to_bytes())

    def _finish(self, name: str) -> None:
        self.claims.release(name)
        with self._lock:
            self._in_flight.discard(name)

    def _drop(self, name: str, outcome: str, message: str, *, level: int = logging.WARNING) -> None:
        log.log(level, "%s", message)
        metrics.webhook_delivery(outcome)
        unlink_quietly(self.path(name))
        self._records.pop(name, None)

    def _drop_url(self, url: str) -> None:
        """After a 410: delete every other pending record for `url` (waiting or not)."""
        directory = os.path.dirname(self.path("x"))
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(directory):
                record = Delivery.from_dict(read_json(entry.path)) if entry.name.endswith(".json") else None
                if record is not None and record.url == url:
                    self._drop(entry.name[:-5], "gone", f"webhook to {url}: dropped after 410 Gone")
