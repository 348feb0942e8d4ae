"""Background work that runs once in each process that needs it (flaskr-style lazy start).

gunicorn forks its workers after the app is made, and a thread does not survive a fork, so a
background worker starts on first use in the process that uses it, and again in a child that
was forked after it started (told apart by pid).
"""
from __future__ import annotations

import os
import threading


class PerProcess:
    """Started at most once per process by `ensure_started` (never again once stopped).

    Subclasses put their start-up in `_start_here`, which runs under `_lock` in the process that
    starts it; `_stop` is set by `stop` for their loops to see.
    """

    def __init__(self) -> None:
        self._pid = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def started_here(self) -> bool:
        """Whether this process started it."""
        return self._pid == os.getpid()

    def ensure_started(self) -> None:
        if self._pid == os.getpid() or self._stop.is_set():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._start_here()

    def _start_here(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
