"""Reading JSON request bodies: the 400/413/422 rules of API.md Part B, in one parser.

400: wrong Content-Type, invalid JSON (or not UTF-8, or nested too deep), not a JSON object,
     unknown top-level fields, neither prompt nor params.
413: a body over MAX_CONTENT_LENGTH, with or without Content-Length (chunked bodies are read
     up to the cap plus one byte, never trusted).
422: a field of the wrong type or out of range; the detail names the field and its range.
"""
from __future__ import annotations

import json
from typing import Any, NoReturn

import marshmallow as ma
from flask import Request, current_app
from webargs.flaskparser import FlaskParser

from app.errors import MISSING_INPUT, BadRequest, PayloadTooLarge, Unprocessable


def read_body(request: Request, cap: int) -> bytes:
    """The raw body, at most `cap` bytes; PayloadTooLarge (413) beyond, whatever the framing."""
    too_large = PayloadTooLarge(f"Request body too large (limit {cap} bytes)")
    if request.content_length is not None and request.content_length > cap:
        raise too_large
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return b""
    if request.content_length is not None:
        data = _read_upto(stream, request.content_length)
    else:
        data = _read_upto(stream, cap + 1)
    if len(data) > cap:
        raise too_large
    return data


def _read_upto(stream: Any, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_object(raw: bytes) -> dict[str, Any]:
    """Decode a JSON object (NaN/Infinity are decoded, then refused by the schema as 422)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("Request body is not valid UTF-8") from None
    except ValueError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("Request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    return data


def field_names(schema: ma.Schema) -> list[str]:
    return [f.data_key or name for name, f in schema.fields.items() if not f.dump_only]


def flatten(messages: Any, path: str = "") -> list[tuple[str, str]]:
    """[(dotted field path, message)] from marshmallow's nested error messages."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            name = path if key == "_schema" else (f"{path}.{key}" if path else str(key))
            out.extend(flatten(value, name))
        return out
    if isinstance(messages, list):
        return [pair for item in messages for pair in flatten(item, path)]
    return [(path, str(messages))]


def validation_detail(messages: Any) -> str:
    """A readable sentence for the first field error, e.g. "'params.n' must be ..."."""
    pairs = flatten(messages) or [("body", "is invalid")]
    name, message = pairs[0]
    return f"'{name}' {message}" if name else f"Request body {message}"


class JsonBodyParser(FlaskParser):
    """webargs parser for JSON bodies with the service's size cap and 400/422 split."""

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        if not req.is_json:
            raise BadRequest("Content-Type must be application/json")
        data = parse_object(read_body(req, int(current_app.config["MAX_CONTENT_LENGTH"])))
        known = field_names(schema)
        unknown = sorted(key for key in data if key not in known)
        if unknown:
            raise BadRequest(f"Unknown field '{unknown[0]}' (allowed: {', '.join(known)})")
        one_of = getattr(schema, "REQUIRE_ONE_OF", ())
        if one_of and all(data.get(name) is None for name in one_of):
            raise BadRequest(MISSING_INPUT)
        return data

    def handle_error(self, error: ma.ValidationError, req: Request, schema: ma.Schema, *,
                     error_status_code: int | None, error_headers: Any) -> NoReturn:
        messages = error.messages
        if isinstance(messages, dict) and set(messages) == {"json"}:
            messages = messages["json"]
        raise Unprocessable(validation_detail(messages), extra={"errors": messages})
