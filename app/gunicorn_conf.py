"""gunicorn settings for `make run`: gthread workers, no preload, JSON access logs.

Environment: RESONANT_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2),
RESONANT_THREADS (threads per worker, default 8), RESONANT_TIMEOUT (seconds, default 60).
Each worker builds its own render pool lazily on first use, so nothing is shared across fork.
"""
import json
import os
import time

from gunicorn import glogging

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
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(record, default=str))
        except (OSError, TypeError, ValueError):
            self.error("cannot write the access log line")


logger_class = JsonAccessLogger
