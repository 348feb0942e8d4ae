"""One error shape for the whole service: JSON {"detail": "..."} for every 4xx and 5xx.

Registered on the app (not a blueprint), so routing 404/405 get it too (405 keeps Allow).
Engine errors and the job machinery's domain errors (app/domain.py: a full pool, an
unreachable job store, a render differing from its `done` record) are mapped to statuses here
and only here; an engine ParameterError carries `errors` like a schema 422.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from app.domain import HashMismatch, PoolFull, StoreUnavailable
from engine.errors import (
    EngineError,
    ParameterError,
    PresetFileError,
    UnknownPresetError,
)
from engine.resolve import MissingInputError

log = logging.getLogger(__name__)

MISSING_INPUT = "Provide either 'prompt' or 'params'"


class ApiError(Exception):
    """An error answered as {"detail": ...} with `status`, extra body fields and headers."""

    status = 500

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404


class JobNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Job not found")


class JobNotComplete(ApiError):
    """409: the job exists but its file is not ready; the body carries its status."""

    status = 409

    def __init__(self, job_status: str):
        super().__init__(f"Job is not complete (status: {job_status})", extra={"status": job_status})


class PayloadTooLarge(ApiError):
    status = 413


class Unprocessable(ApiError):
    status = 422


class ServiceUnavailable(ApiError):
    """503 with Retry-After: a preview or a local copy could not be rendered in time."""

    status = 503

    def __init__(self, detail: str, *, retry_after: int = 2):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class PreviewUnavailable(ServiceUnavailable):
    """503: the preview could not be rendered now (timed out, or the render failed)."""


def status_of(error: EngineError) -> int:
    """The HTTP status of an engine error."""
    if isinstance(error, MissingInputError):
        return 400
    if isinstance(error, ParameterError):
        return 422
    if isinstance(error, UnknownPresetError):
        return 404
    return 500  # RenderError, PresetFileError: not the client's fault


def error_response(status: int, detail: str, extra: dict[str, Any] | None = None,
                   headers: Any = None) -> Response:
    response = jsonify({"detail": detail, **(extra or {})})
    response.status_code = status
    for name, value in dict(headers or {}).items():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.detail, error.extra, error.headers)


def handle_pool_full(error: PoolFull) -> Response:
    return error_response(503, str(error), headers={"Retry-After": "2"})


def handle_store_unavailable(error: StoreUnavailable) -> Response:
    return error_response(503, str(error), headers={"Retry-After": "1"})


def handle_hash_mismatch(error: HashMismatch) -> Response:
    log.error("%s: nothing served", error)
    return error_response(503, "This host cannot serve a verified file for this job",
                          headers={"Retry-After": "30"})


def field_errors(error: ParameterError) -> dict[str, list[str]]:
    """{field: [message]}, the shape of a schema 422 (the message without the field's name)."""
    message = str(error)
    prefix = f"'{error.field}' "
    return {error.field: [message.removeprefix(prefix)]}


def handle_engine_error(error: EngineError) -> Response:
    status = status_of(error)
    if isinstance(error, ParameterError):
        return error_response(status, str(error), {"errors": field_errors(error)})
    if status >= 500:
        log.error("engine error: %r", error)
        detail = "Internal server error" if isinstance(error, PresetFileError) else str(error)
        return error_response(500, detail)
    return error_response(status, str(error))


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, InternalServerError) or status >= 500:
        return error_response(status, "Internal server error")
    detail = error.description or error.name
    if status == 413:
        detail = "Request body too large"
    elif status == 404:
        detail = "Not found"
    elif status == 405:
        detail = "Method not allowed"
    return error_response(status, detail, headers=dict(error.get_headers()))


def register_error_handlers(app: Flask) -> None:
    """Install the JSON error shape on the app (after flask-smorest, replacing its handler)."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(PoolFull, handle_pool_full)
    app.register_error_handler(StoreUnavailable, handle_store_unavailable)
    app.register_error_handler(HashMismatch, handle_hash_mismatch)
    app.register_error_handler(HTTPException, handle_http_exception)
