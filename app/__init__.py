"""Resonant's web service: the application factory (flaskr style).

    from app import create_app
    app = create_app()                            # settings from the environment
    app = create_app({"RESONANT_CACHE_DIR": tmp}) # tests: a mapping on top
    app = create_app(config, render=fake, job_store=store)  # tests inject what they swap
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api

from app import metrics, playground, ratelimit
from app.config import Config
from app.errors import register_error_handlers
from app.jobstore import JobStore
from app.runner import RenderFn, engine_render
from app.schemas import PROMPT_OR_PARAMS, ErrorSchema, GenerateSchema, StrictInteger
from app.service import job_service


class ResonantApi(Api):
    """flask-smorest's Api documenting our error shape, and only the responses we declare."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def create_app(config: Mapping[str, Any] | None = None, *, render: RenderFn | None = None,
               job_store: JobStore | None = None) -> Flask:
    """Build the app: config, job service, API blueprints, docs, JSON errors.

    `render` (spec, tones=...) -> bytes and `job_store` replace the engine's renderer and the
    configured backend (tests inject them).
    """
    app = Flask(__name__)
    app.config.from_object(Config)
    if config is not None:
        app.config.from_mapping(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if not app.debug:
        logging.getLogger("app").setLevel(logging.INFO)

    if render is None and app.config.get("RESONANT_TEST_CORRUPT_RENDER"):
        render = corrupt_render  # fault injection for the multi-host tests only
    job_service.init_app(app, render=render, job_store=job_store)
    metrics.init_app(app)  # GET /metrics; request counts and latencies
    ratelimit.init_app(app)  # off unless RESONANT_RATE_LIMIT is set

    from app.api import JobIdConverter, health, job_id_schema, presets, preview, styles
    from app.api import jobs as jobs_api
    from app.api.docs import register_docs

    api = ResonantApi(app, spec_kwargs={"info": {"description": (
        "Deterministic music generation: send a text prompt or geometry parameters, "
        "receive WAV, MP3 or MIDI. Identical parameters always produce identical output.")}})
    api.register_field(StrictInteger, "integer", None)
    api.spec.components.schema("Generate", PROMPT_OR_PARAMS, schema=GenerateSchema)
    app.url_map.converters["job_id"] = JobIdConverter
    api.register_converter(JobIdConverter, job_id_schema)
    for module in (jobs_api, preview, presets, styles, health):
        api.register_blueprint(module.blp)
    register_docs(app)
    playground.init_app(app)  # GET / and /playground: the page that tries the API (not in the doc)
    register_error_handlers(app)
    return app


def corrupt_render(spec: Any, **kwargs: Any) -> bytes:
    """The engine's bytes with the last one flipped: a host whose render differs (tests)."""
    data = bytearray(engine_render(spec, **kwargs))
    data[-1] ^= 0xFF
    return bytes(data)
