"""Configuration: one attribute per setting, each read from the environment with a safe default.

`create_app(config)` starts from `Config` and then applies a mapping (tests pass their own).
"""
from __future__ import annotations

import os
import pathlib

PROJECT_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _default_presets_path() -> str:
    from engine.presets import default_presets_path

    return str(default_presets_path())


class Config:
    """Settings of the Resonant service (environment variable -> default)."""

    #: Where job specs, finished files, claims and failure records live (shared by all workers).
    RESONANT_CACHE_DIR = os.environ.get("RESONANT_CACHE_DIR") or str(PROJECT_ROOT / "var" / "cache")
    #: Render threads per worker process.
    RESONANT_POOL_SIZE = _int("RESONANT_POOL_SIZE", os.cpu_count() or 2)
    #: Jobs queued or running per worker before new work is refused with 503 + Retry-After.
    RESONANT_QUEUE_LIMIT = _int("RESONANT_QUEUE_LIMIT", 64)
    #: Size cap of the finished files (bytes); least recently used files are evicted past it.
    RESONANT_CACHE_MAX_BYTES = _int("RESONANT_CACHE_MAX_BYTES", 2 * 1024**3)
    #: Memory for synthesised tones kept across renders, per worker process (MiB; 0: off).
    RESONANT_TONE_CACHE_MB = _int("RESONANT_TONE_CACHE_MB", 16)
    #: The preset catalogue (YAML); default: the one shipped with the engine.
    RESONANT_PRESETS = os.environ.get("RESONANT_PRESETS") or None
    #: Longest prompt accepted (characters); at most the engine's own limit (500).
    RESONANT_MAX_PROMPT_CHARS = _int("RESONANT_MAX_PROMPT_CHARS", 500)
    #: Seconds POST /preview waits for its render before answering 503.
    RESONANT_PREVIEW_TIMEOUT = _int("RESONANT_PREVIEW_TIMEOUT", 60)
    #: Seconds a claim may go without a heartbeat before another worker takes the job over.
    RESONANT_CLAIM_STALE_SECONDS = _int("RESONANT_CLAIM_STALE_SECONDS", 10)
    #: Redis holding specs, leases, failures and done records of every host (e.g.
    #: redis://127.0.0.1:6379/0); empty: the filesystem backend (one host).
    RESONANT_REDIS_URL = os.environ.get("RESONANT_REDIS_URL", "")
    #: Fault injection for the multi-host tests: this host's renders differ by one byte.
    RESONANT_TEST_CORRUPT_RENDER = os.environ.get("RESONANT_TEST_CORRUPT_RENDER", "") == "1"
    #: Per-client rate limit, e.g. "120/minute" (Flask-Limiter syntax); empty: no limit.
    RESONANT_RATE_LIMIT = os.environ.get("RESONANT_RATE_LIMIT", "")
    #: Where rate-limit counters live: memory:// is per worker process; redis://... is shared.
    RESONANT_RATE_LIMIT_STORAGE = os.environ.get("RESONANT_RATE_LIMIT_STORAGE") or "memory://"
    #: Standard Webhooks signing secret, "whsec_" + base64 of 24-64 random bytes; empty: requests
    #: carrying a callback_url are refused with 422.
    RESONANT_WEBHOOK_SECRET = os.environ.get("RESONANT_WEBHOOK_SECRET", "")
    #: "1": webhooks may go to loopback, private, link-local and reserved addresses (tests and
    #: private deployments); otherwise such addresses are refused after DNS resolution.
    RESONANT_WEBHOOK_ALLOW_PRIVATE = os.environ.get("RESONANT_WEBHOOK_ALLOW_PRIVATE", "") == "1"
    #: Seconds a webhook delivery may take to connect, and to wait for each read of the response.
    RESONANT_WEBHOOK_TIMEOUT = _float("RESONANT_WEBHOOK_TIMEOUT", 5.0)
    #: Factor on the retry schedule (5 s, 30 s, 5 min, 30 min, then hourly for 24 h); tests shrink it.
    RESONANT_WEBHOOK_BACKOFF_SCALE = _float("RESONANT_WEBHOOK_BACKOFF_SCALE", 1.0)

    #: Request bodies larger than this are refused with 413 (also chunked ones).
    MAX_CONTENT_LENGTH = 64 * 1024

    # flask-smorest / OpenAPI
    API_TITLE = "Resonant"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


def resolve_presets_path(value: str | None) -> str:
    """The configured preset file, or the engine's default one."""
    return value or _default_presets_path()
