"""Prometheus metrics at GET /metrics, correct across gunicorn workers.

Under gunicorn, `app/gunicorn_conf.py` sets PROMETHEUS_MULTIPROC_DIR in the master before any
worker is forked (a fresh directory per master unless the variable is already set, emptied at
start), so prometheus_client keeps each worker's values in its own mmap file there and
/metrics sums them; `child_exit` marks dead workers' live gauges gone. Without that variable
(tests, `flask run`) the ordinary in-process registry is used.

    resonant_http_requests_total{method,endpoint,status}        counter
    resonant_http_request_duration_seconds{method,endpoint}     histogram
    resonant_render_duration_seconds{format}                    histogram (engine render only)
    resonant_render_queue_depth                                  gauge: queued + running renders
    resonant_cache_lookups_total{kind,result}                    counter: hit | miss
    resonant_jobs_finished_total{outcome}                        counter: complete | failed
    resonant_lease_takeovers_total                               counter: dead renderers replaced
    resonant_rerenders_on_miss_total                             counter: done, file not on this host
    resonant_hash_mismatches_total                               counter: render differs from done
    resonant_redis_errors_total                                  counter: failed Redis commands
    resonant_jobs_recovered_total                                counter: orphaned jobs re-queued
    resonant_webhook_deliveries_total{outcome}                   counter: webhook attempts and ends:
        delivered | retry (a failed attempt, tried again) | gone (410) | refused (address or URL)
        | expired (24 h of retries, or the job never finished) | error (a bug or an unreadable record)

`endpoint` is the URL rule (e.g. /api/v1/jobs/<job_id:job_id>), never the raw path, so bad
clients cannot blow up the number of series.
"""
from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

METRICS_PATH = "/metrics"

REQUESTS = Counter("resonant_http_requests_total", "HTTP requests answered",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("resonant_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["method", "endpoint"],
                    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
RENDER = Histogram("resonant_render_duration_seconds", "Engine render time of one job", ["format"],
                   buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120))
QUEUE = Gauge("resonant_render_queue_depth", "Renders queued or running (all workers)",
              multiprocess_mode="livesum")
CACHE = Counter("resonant_cache_lookups_total", "Requests answered from a finished file (hit) "
                "or needing a render (miss)", ["kind", "result"])
TAKEOVERS = Counter("resonant_lease_takeovers_total", "Leases of dead renderers taken over")
RERENDERS = Counter("resonant_rerenders_on_miss_total", "Done jobs rendered again on a host lacking the file")
MISMATCHES = Counter("resonant_hash_mismatches_total", "Renders whose SHA-256 differs from the done record")
REDIS_ERRORS = Counter("resonant_redis_errors_total", "Redis commands that failed or timed out")
RECOVERED = Counter("resonant_jobs_recovered_total", "Pending jobs nobody rendered, queued by recovery")
WEBHOOKS = Counter("resonant_webhook_deliveries_total", "Webhook delivery attempts and ends, by outcome",
                   ["outcome"])
OUTCOMES = Counter("resonant_jobs_finished_total", "Renders finished, by outcome", ["outcome"])


def multiprocess_dir() -> str | None:
    """The shared metrics directory when running under several processes, else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def observe_render(fmt: str, seconds: float) -> None:
    RENDER.labels(fmt).observe(seconds)


def job_finished(outcome: str) -> None:
    OUTCOMES.labels(outcome).inc()


def webhook_delivery(outcome: str) -> None:
    WEBHOOKS.labels(outcome).inc()


def lease_takeover() -> None:
    TAKEOVERS.inc()


def rerender_on_miss() -> None:
    RERENDERS.inc()


def hash_mismatch() -> None:
    MISMATCHES.inc()


def redis_error() -> None:
    REDIS_ERRORS.inc()


def recovered() -> None:
    RECOVERED.inc()


def cache_lookup(kind: str, hit: bool) -> None:
    CACHE.labels(kind, "hit" if hit else "miss").inc()


def queued(delta: int) -> None:
    QUEUE.inc(delta)


_STARTED = "resonant.metrics_started"  #: environ key: perf_counter() when the request began

#: (method, endpoint, status) -> the labelled counter and histogram children. prometheus_client
#: validates and looks labels up on every .labels() call; this keeps that off the request path.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _before() -> None:
    request.environ[_STARTED] = time.perf_counter()


def _after(response: Response) -> Response:
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not five
    started = req.environ.pop(_STARTED, None)
    if started is not None and req.path != METRICS_PATH:
        rule = req.url_rule
        key = (req.method, rule.rule if rule is not None else "<unmatched>", response.status_code)
        children = _CHILDREN.get(key)
        if children is None:
            children = _CHILDREN.setdefault(key, (REQUESTS.labels(key[0], key[1], str(key[2])),
                                                  LATENCY.labels(key[0], key[1])))
        children[0].inc()
        children[1].observe(time.perf_counter() - started)
    return response


def metrics_view() -> Response:
    """The Prometheus text exposition, summed over every worker process."""
    path = multiprocess_dir()
    if path is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Count and time every request; serve GET /metrics (not part of the OpenAPI document)."""
    app.before_request(_before)
    app.after_request(_after)
    app.add_url_rule(METRICS_PATH, endpoint="metrics", view_func=metrics_view, methods=["GET"])
