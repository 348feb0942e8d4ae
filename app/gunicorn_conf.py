"""gunicorn settings for `make run`: gthread workers, no preload, JSON access logs.

Environment: RESONANT_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2),
RESONANT_THREADS (threads per worker, default 8), RESONANT_TIMEOUT (seconds, default 60).
Each worker builds its own render pool lazily on first use, so nothing is shared across fork.
Prometheus multiprocess mode: PROMETHEUS_MULTIPROC_DIR (default: a fresh temp dir per master,
removed at exit) is emptied at start and set before any worker imports prometheus_client.
"""
import glob
import json
import os
import shutil
import tempfile
import time

from gunicorn import glogging, util

bind = os.environ.get("RESONANT_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("RESONANT_THREADS", "8"))
preload_app = False
timeout = int(os.environ.get("RESONANT_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5

# Request limits: the API has short URLs and few headers; bodies are capped by the app (64 KiB).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("RESONANT_LOG_LEVEL", "info")


class JsonAccessLogger(glogging.Logger):
    """Writes each access-log line as one JSON object (values escaped properly)."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status),
            "bytes": _body_bytes(resp),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(record, default=str))
        except (OSError, TypeError, ValueError):
            self.error("cannot write the access log line")


logger_class = JsonAccessLogger


def _body_bytes(resp):
    """Body bytes sent. gunicorn counts what it writes (`resp.sent`) but not what it hands to
    sendfile(2) (downloads): a response that went out that way and wrote nothing counts its
    Content-Length, which sendfile sends whole unless the client went away."""
    sent = getattr(resp, "sent", None)
    length = getattr(resp, "response_length", None)
    if not sent and length and resp.headers_sent and not getattr(resp, "_omits_body", False):
        return length
    return sent


def _json_protocol_error(sock, status_int, reason, mesg):
    """gunicorn's own refusals (request line over 4094 bytes: 414, oversized or too many
    headers: 431/400, malformed HTTP: 400) in the API's error shape instead of its HTML page."""
    body = json.dumps({"detail": f"{reason}: {mesg}"}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = _json_protocol_error  # looked up at call time by gunicorn's Worker.handle_error


_OWNED_METRICS_DIR = "RESONANT_METRICS_DIR_CREATED"  # set when on_starting made the directory


def on_starting(server):
    """Before the first fork: give prometheus_client a clean directory shared by all workers."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):  # a previous run's pids
            os.unlink(stale)
    else:
        path = tempfile.mkdtemp(prefix="resonant-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        os.environ[_OWNED_METRICS_DIR] = path


def child_exit(server, worker):
    """A worker is gone (exited, killed or replaced): drop its live gauges (queue depth)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    path = os.environ.get(_OWNED_METRICS_DIR)
    if path and path == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(path, ignore_errors=True)


def post_worker_init(worker):
    """Import the engine (numpy, scipy, encoders: about 1 s) before the worker takes requests,
    so the first render a client asks of each worker does not pay for it; start recovery
    (which, with Redis, republishes this host's specs at start) and webhook deliveries (pending
    ones resume after a restart without waiting for a request)."""
    import engine.render  # noqa: F401

    state = getattr(worker.wsgi, "extensions", {}).get("resonant")
    if state is not None:
        state.ensure_started()
