"""Fixtures of the reliability tests (defined in reliability_harness, shared with every module)."""
from reliability_harness import (  # noqa: F401
    module_app,
    redis_server,
    shared_gunicorn,
    start_gunicorn,
)
