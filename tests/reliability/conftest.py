"""Fixtures of the reliability tests (defined in reliability_harness, shared with every module)."""
from reliability_harness import module_app, shared_gunicorn, start_gunicorn  # noqa: F401
