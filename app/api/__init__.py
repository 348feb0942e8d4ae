"""The API's blueprints (one per resource) and what they share."""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask_smorest import Blueprint
from werkzeug.routing import BaseConverter

from app.parsing import JsonBodyParser
from app.schemas import ErrorSchema

BINARY = {"type": "string", "format": "binary"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying",
                               "schema": {"type": "integer"}}}
_DESCRIPTIONS = {
    400: "Bad request: body not a JSON object, wrong Content-Type, invalid JSON, unknown "
         "fields, or neither prompt nor params",
    404: "Not found",
    409: "Job not yet complete; the body's `status` says where it is",
    413: "Request body over 64 KiB",
    416: "Range not satisfiable",
    422: "Validation error: a field of the wrong type or out of range (the detail names it)",
    503: "Render pool full or preview not ready in time; retry after Retry-After seconds",
}


class JobIdConverter(BaseConverter):
    """Any path segment (malformed ids answer 404 from the service); documented as 32 hex digits."""


def job_id_schema(converter: BaseConverter) -> dict[str, str]:
    return {"type": "string", "pattern": "^[0-9a-f]{32}$"}


class ApiBlueprint(Blueprint):
    """flask-smorest Blueprint whose JSON bodies follow the service's 400/413/422 rules."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def raw_response(self, status_code: int, schema: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Document a response like `response`, for a view that builds its own Response.

        flask-smorest's wrapper would only pass such a Response through; the view keeps the
        documentation and skips the wrapper (used on the hottest route, GET /jobs/{id}).
        """

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            func._apidoc = self.response(status_code, schema, **kwargs)(func)._apidoc  # type: ignore[attr-defined]
            return func

        return decorator

    def errors(self, *codes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Document the error responses a view can return (all shaped {"detail": ...})."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            documented = func
            for code in codes:
                documented = self.alt_response(
                    code, schema=ErrorSchema,
                    description=_DESCRIPTIONS.get(code, HTTPStatus(code).phrase),
                    headers=RETRY_AFTER if code == 503 else None,
                )(documented)
            # alt_response's wrappers only pass the call through; keep the documentation they
            # collected and drop them, so the routes do not pay for a call layer per error code.
            func._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return func

        return decorator
