"""Optional per-client rate limiting (Flask-Limiter); off unless RESONANT_RATE_LIMIT is set.

    RESONANT_RATE_LIMIT="120/minute"                 limits per client address, e.g. "10/second;300/hour"
    RESONANT_RATE_LIMIT_STORAGE="redis://host:6379"  shared by every worker and host: exact limits

The default storage, memory://, lives inside each gunicorn worker process, so with W workers
a client may get up to W times the limit before a 429 (documented as per-worker). A client
over its limit gets 429 {"detail": ...} with Retry-After (seconds). /metrics and
/api/v1/healthz are never limited (monitoring must keep working under load).

If the shared store is down, a rate limiter must not take the service down with it: each
worker logs a warning and falls back to its own in-memory counters (per-worker limits, as
with memory://), retries the store with backoff (1, 2, 4 ... 32 s) and returns to it when it
answers. Redis calls time out after STORE_TIMEOUT s, so an unreachable host cannot hang
requests either; any other limiter error is logged and the request is served (fail open).
"""
from __future__ import annotations

import logging

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from app.errors import error_response

EXEMPT_PATHS = frozenset({"/metrics", "/api/v1/healthz"})
#: Connect and read timeout (s) of a redis store: a hung store costs a request at most this.
STORE_TIMEOUT = 1.0
REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+unix"})

log = logging.getLogger(__name__)


class _ToAppLog(logging.Handler):
    """Flask-Limiter logs to "flask-limiter" behind a NullHandler; pass its records to ours."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "rate limiter: %s", record.getMessage(), exc_info=record.exc_info)


def _exempt() -> bool:
    return request.path in EXEMPT_PATHS


def init_app(app: Flask) -> Limiter | None:
    """Install the limiter when RESONANT_RATE_LIMIT is set; returns it (or None when off)."""
    limits = (app.config.get("RESONANT_RATE_LIMIT") or "").strip()
    if not limits:
        return None
    storage = (app.config.get("RESONANT_RATE_LIMIT_STORAGE") or "").strip() or "memory://"
    options = {}
    if storage.split("://", 1)[0].lower() in REDIS_SCHEMES:
        options = {"socket_connect_timeout": STORE_TIMEOUT, "socket_timeout": STORE_TIMEOUT}
    app.after_request(_retry_after_only_when_refused)  # registered first: runs after the limiter's
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[limits],  # one budget per client across every route
        application_limits_exempt_when=_exempt,
        storage_uri=storage,
        storage_options=options,
        in_memory_fallback_enabled=True,  # store down: per-worker counting, never a 500
        swallow_errors=True,  # any other limiter failure: logged, request served
        headers_enabled=True,  # X-RateLimit-* on every answer, Retry-After on the 429
        strategy="fixed-window",
    )
    app.register_error_handler(RateLimitExceeded, _too_many)
    if not any(isinstance(h, _ToAppLog) for h in limiter.logger.handlers):
        limiter.logger.addHandler(_ToAppLog(logging.WARNING))
    return limiter


def _retry_after_only_when_refused(response: Response) -> Response:
    """The limiter sends Retry-After on every answer; keep it only where it means "retry"."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def _too_many(error: RateLimitExceeded) -> Response:
    """429 in the service's error shape; the limiter adds Retry-After and X-RateLimit-*."""
    return error_response(429, f"Rate limit exceeded ({error.description}); retry later")
