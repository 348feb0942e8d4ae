"""Domain errors of the job machinery: plain exceptions, mapped to HTTP in app/errors.py only."""
from __future__ import annotations


class PoolFull(Exception):
    """The render pool's queue bound is reached; the client should retry later (503)."""

    def __init__(self) -> None:
        super().__init__("Render queue is full; retry later")


class StoreUnavailable(Exception):
    """The job store cannot be reached or refuses a write (Redis down, cache unwritable): 503."""


class HashMismatch(Exception):
    """A render's bytes differ from the job's `done` record: nothing is served (503)."""

    def __init__(self, job_id: str):
        super().__init__(f"job {job_id}: this host's render differs from the recorded one")
        self.job_id = job_id
