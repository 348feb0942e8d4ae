"""Marshmallow schemas of the API: request bodies (validated at the route) and response bodies.

Field error messages are predicates ("must be an integer from 2 to 2000"), so the 422 detail
reads "'params.n' must be an integer from 2 to 2000". Numbers are strict: JSON strings and
booleans are refused where numbers belong, and so are NaN and Infinity.
"""
from __future__ import annotations

import math
import numbers
import re
import urllib.parse
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields, validate

from engine.errors import ParameterError
from engine.keys import KEY_PATTERN, parse_key
from engine.prompt import MAX_PROMPT_CHARS
from engine.spec import (
    DURATION_RANGE,
    FORMATS,
    GEOMETRY_FIELDS,
    N_RANGE,
    OMEGA_RANGE,
    PSI_RANGE,
    TEMPO_RANGE,
    VARIATION_MAX,
    XI_RANGE,
)
from engine.styles import style_catalog

#: Style ids a request may name (engine/data/styles.yaml, in file order).
STYLE_IDS = tuple(style_catalog().ids())

#: OpenAPI: a body must carry a prompt or params (the 400 rule, stated for schema-driven clients).
PROMPT_OR_PARAMS = {"anyOf": [{"required": ["prompt"]}, {"required": ["params"]}]}


def _range_text(lo: float, hi: float, *, integer: bool) -> str:
    if integer:
        return f"must be an integer from {int(lo)} to {int(hi)}"
    return f"must be a number from {lo:g} to {hi:g}"


class StrictNumber(fields.Float):
    """A finite JSON number within [lo, hi]; no strings, booleans, NaN or Infinity."""

    integer = False

    def __init__(self, lo: float, hi: float, *, allowed: str | None = None, **kwargs: Any):
        message = allowed or _range_text(lo, hi, integer=self.integer)
        kwargs.setdefault("allow_none", True)  # null means "not given": the default applies
        super().__init__(
            allow_nan=False,
            validate=validate.Range(lo, hi, error=message),
            error_messages={"invalid": message, "special": message, "too_large": message},
            **kwargs,
        )
        self.lo, self.hi = lo, hi

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.make_error("invalid")
        if isinstance(value, int):  # JSON integers may be huge: compare, never convert to float
            if not self.lo <= value <= self.hi:
                raise self.make_error("invalid")
            return value if self.integer else float(value)
        if not math.isfinite(value):
            raise self.make_error("special")
        if self.integer:
            if not float(value).is_integer():
                raise self.make_error("invalid")
            return int(value)
        return float(value)


class StrictInteger(StrictNumber):
    """A JSON integer (2.0 is accepted as 2; 2.5, "2" and true are not)."""

    integer = True


class StrictBoolean(fields.Boolean):
    """JSON true or false only (no 1, "yes" or "true")."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("allow_none", True)
        super().__init__(error_messages={"invalid": "must be true or false"}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictString(fields.String):
    def __init__(self, **kwargs: Any):
        super().__init__(error_messages={"invalid": "must be a string", "null": "must be a string"}, **kwargs)


#: A prompt holds a character that is not white space. Written out (not \S), so Python, the
#: ECMA-262 regexes of OpenAPI tools and Rust's agree: they differ on U+0085, U+001C-1F, U+FEFF.
PROMPT_PATTERN = r"[^\t-\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"


def _prompt_text(value: str) -> None:
    if re.search(PROMPT_PATTERN, value) is None or len(value) > MAX_PROMPT_CHARS:
        raise ma.ValidationError(f"must be a non-empty string of at most {MAX_PROMPT_CHARS} characters")


def _key_name(value: str) -> None:
    try:
        parse_key(value)
    except ParameterError as err:
        raise ma.ValidationError(f"must be {err.allowed}") from None


#: Longest callback_url accepted (characters).
CALLBACK_URL_MAX_CHARS = 2048
CALLBACK_URL_RULE = f"must be an http or https URL with a host, of at most {CALLBACK_URL_MAX_CHARS} characters"


def _callback_url(value: str) -> None:
    if len(value) > CALLBACK_URL_MAX_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ma.ValidationError(CALLBACK_URL_RULE)
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ma.ValidationError(CALLBACK_URL_RULE) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ma.ValidationError(CALLBACK_URL_RULE)


class GeometrySchema(ma.Schema):
    """Geometry parameters; any field left out takes its documented default."""

    class Meta:
        unknown = ma.RAISE

    error_messages: ClassVar[dict[str, str]] = {
        "unknown": "is not a geometry parameter (allowed: " + ", ".join(GEOMETRY_FIELDS) + ")",
        "type": "must be an object",
    }

    n = StrictInteger(*N_RANGE, metadata={"description": "Complexity: number of geometric elements (default 24)"})
    k = StrictInteger(1, N_RANGE[1] // 2, allowed="must be an integer from 1 to n/2", metadata={
        "description": "Texture: step size, 1..n/2 (default: the step nearest a fourth)"})
    omega = StrictNumber(*OMEGA_RANGE, metadata={"description": "Movement: rotation speed (default 1)"})
    xi = StrictNumber(*XI_RANGE, metadata={"description": "Depth: vertical perturbation (default 1)"})
    psi = StrictNumber(*PSI_RANGE, allowed="must be a number from 0 to 2π (6.283185)", metadata={
        "description": "Phase in radians: shifts the tonal center (default 0)"})
    lock_psi_tau = StrictBoolean(metadata={"description": "Lock phase to the tempo grid (default true)"})


class GenerateSchema(ma.Schema):
    """A generation request: a prompt or geometry params (or both), and output settings."""

    class Meta:
        unknown = ma.RAISE

    error_messages: ClassVar[dict[str, str]] = {"unknown": "is not a known field", "type": "must be a JSON object"}
    #: At least one of these must be given (else 400 "Provide either 'prompt' or 'params'").
    REQUIRE_ONE_OF = ("prompt", "params")

    prompt = StrictString(
        validate=_prompt_text,
        metadata={"description": "Text description of the desired music", "pattern": PROMPT_PATTERN,
                  "minLength": 1, "maxLength": MAX_PROMPT_CHARS})
    params = fields.Nested(GeometrySchema, error_messages={"null": "must be an object"}, metadata={"description": "Direct geometry parameters"})
    duration_seconds = StrictNumber(*DURATION_RANGE, metadata={"description": "Seconds (default 30)"})
    tempo = StrictNumber(*TEMPO_RANGE, metadata={
        "description": "BPM (default: implied by the prompt or its preset, else 120)"})
    format = StrictString(allow_none=True, validate=validate.OneOf(FORMATS, error="must be one of: " + ", ".join(FORMATS)),
                          metadata={"description": "wav, mp3, midi or stems (default wav). stems: a ZIP "
                                                   "(application/zip) of one 16-bit WAV per voice (drums, bass, "
                                                   "harmony, melody, ...) that sum to the mix before its limiter, "
                                                   "the MIDI, and manifest.json naming the files, voices and gain",
                                    "enum": [*FORMATS, None]})
    style = StrictString(allow_none=True, validate=validate.OneOf(STYLE_IDS, error="must be one of: " + ", ".join(STYLE_IDS)),
                         metadata={"description": "Style id (GET /styles) the piece plays in; overrides the prompt's "
                                   "or preset's style (default: theirs, else chosen from the geometry)",
                                   "enum": [*STYLE_IDS, None]})
    key = StrictString(allow_none=True, validate=_key_name, metadata={
        "description": 'Key by name: a tonic and optionally a mode (major, minor, dorian, phrygian, lydian, '
                       'mixolydian), e.g. "D minor", "F#", "Bb major", "C# dorian"; overrides psi\'s tonic and '
                       "xi's mode sign", "example": "D minor", "pattern": KEY_PATTERN})
    variation = StrictInteger(0, VARIATION_MAX, metadata={
        "description": "Another take of the same request: melody, fills and voicings differ, style, key, "
                       "tempo and geometry hold (default 0; the same variation is always the same bytes)"})
    loop = StrictBoolean(metadata={
        "description": "A seamless loop: the length is rounded to whole bars at the tempo (nearest, at least "
                       "one, at most 300 s; the job's duration_seconds reports it to the microsecond), with no intro, fade or "
                       "final cadence, the last bar leading into the first and the end's reverb and release "
                       "tails folded onto the start (default false). WAV is sample-exact; the MP3 carries a "
                       "LAME gapless tag (encoder delay and padding) for gapless decoders (see README)"})
    callback_url = StrictString(allow_none=True, validate=_callback_url, metadata={
        "description": "Webhook: this URL is sent the job body (POST, signed with Standard Webhooks) when the "
                       "job is complete or failed, at least once, retried with backoff for 24 h. Not part of "
                       "the job: the same request with another (or no) callback_url is the same job, and each "
                       "URL gets its own delivery. Needs RESONANT_WEBHOOK_SECRET on the server (else 422). "
                       "Addresses that are not public are refused when delivering (unless the server allows "
                       "them). POST /preview ignores it (it answers with the file). API only: the engine CLI has no callbacks.",
        "format": "uri", "maxLength": CALLBACK_URL_MAX_CHARS, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
        "example": "https://example.com/hooks/resonant"})


class ParamsOutSchema(ma.Schema):
    """The full geometry a job resolved to."""

    n = fields.Integer(required=True)
    k = fields.Integer(required=True)
    omega = fields.Float(required=True)
    xi = fields.Float(required=True)
    psi = fields.Float(required=True)
    lock_psi_tau = fields.Boolean(required=True)


class JobSchema(ma.Schema):
    """A job: its status and what the request resolved to. Never depends on clock or worker."""

    job_id = fields.String(required=True, metadata={"pattern": "^[0-9a-f]{32}$"})
    status = fields.String(required=True, validate=validate.OneOf(["pending", "processing", "complete", "failed"]))
    preset = fields.String(required=True, allow_none=True, metadata={"description": "Preset matched by the prompt"})
    style = fields.String(required=True, metadata={"description": (
        "Style the piece plays in: the request's, else the prompt's or preset's, else the one "
        "the geometry picks (engine.styles.style_for_geometry)")})
    key = fields.String(required=True, metadata={"description": (
        'The key the piece is in, e.g. "D minor": the request\'s, else psi\'s tonic with xi\'s sign; '
        "params.psi is the phase that names its tonic")})
    variation = fields.Integer(required=True, metadata={"description": "Which take (0 the first)"})
    loop = fields.Boolean(required=True, metadata={
        "description": "A seamless loop of whole bars (duration_seconds is its real length)"})
    params = fields.Nested(ParamsOutSchema, required=True)
    tempo = fields.Float(required=True)
    duration_seconds = fields.Float(required=True)
    format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    download_url = fields.String(metadata={"description": "Present when status is complete"})
    error = fields.String(metadata={"description": "Present when status is failed"})


class AcceptedJobSchema(JobSchema):
    """The answer to POST /generate: the job, and the callback_url this request registered."""

    callback_url = fields.String(metadata={"description": (
        "Present when the request carried a callback_url: it is registered and will be sent the job "
        "body when the job is complete or failed (also when it already is). Only in this answer: "
        "GET /jobs/{job_id} is shared by every caller and never shows it.")})


class PresetSchema(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    family = fields.String(required=True)
    style = fields.String(required=True, metadata={"description": "Id of the style it plays in (GET /styles)"})
    params = fields.Nested(ParamsOutSchema, required=True)
    tempo = fields.Float(required=True)


class PresetListSchema(ma.Schema):
    presets = fields.List(fields.Nested(PresetSchema), required=True)


class InstrumentSchema(ma.Schema):
    program = fields.Integer(required=True, metadata={"description": "General MIDI program 0..127"})
    name = fields.String(required=True, metadata={"description": "General MIDI program name"})


class StyleSchema(ma.Schema):
    """A style: the idiom (meter, feel, tempo range, instruments, drums) a piece plays in."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    meter = fields.String(required=True, validate=validate.OneOf(["4/4", "3/4", "6/8"]))
    feel = fields.String(required=True, metadata={"description": "'straight' or 'swing 0.67 (8ths)'"})
    swing = fields.Float(required=True, metadata={"description": "Off-beat position in a swing pair (0.5 straight)"})
    tempo_range = fields.List(fields.Float(), required=True, metadata={
        "description": "[lo, hi] BPM the style is played at", "minItems": 2, "maxItems": 2})
    instruments = fields.Dict(keys=fields.String(), values=fields.Nested(InstrumentSchema), required=True,
                              metadata={"description": "Role (melody, harmony, bass, pad, counter, timpani) -> instrument"})
    drums = fields.String(required=True, allow_none=True, metadata={"description": "Drum kit, or null: no drums"})


class StyleListSchema(ma.Schema):
    styles = fields.List(fields.Nested(StyleSchema), required=True)


class HealthSchema(ma.Schema):
    status = fields.String(required=True)
    engine_version = fields.String(required=True)
    backend = fields.String(metadata={"description": "Job store: filesystem or redis"})
    redis = fields.String(metadata={"description": "ok or unavailable (redis backend only)"})


class ErrorSchema(ma.Schema):
    """Every 4xx/5xx body."""

    detail = fields.String(required=True, metadata={"description": "What went wrong, in words"})
    status = fields.String(metadata={"description": "The job's status (409 only)"})
    errors = fields.Dict(metadata={"description": "Field errors (422 only)"})
