"""GET /api/v1/docs: Swagger UI from flask-swagger-ui's bundled files (no CDN, works offline)."""
from __future__ import annotations

from flask import Flask
from flask_swagger_ui import get_swaggerui_blueprint

DOCS_URL = "/api/v1/docs"
SPEC_URL = "/api/v1/openapi.json"


def register_docs(app: Flask) -> None:
    """Serve the UI at /api/v1/docs (and /api/v1/docs/), its assets under /api/v1/docs/."""
    blueprint = get_swaggerui_blueprint(
        DOCS_URL, SPEC_URL, config={
            "app_name": "Resonant API",
            "validatorUrl": None,  # the default validator is an external service
            "oauth2RedirectUrl": f"{DOCS_URL}/oauth2-redirect.html",  # relative, not the Host
        },
        blueprint_name="swagger_ui",
    )
    app.register_blueprint(blueprint)
    app.add_url_rule(DOCS_URL, endpoint="swagger_ui_index", view_func=app.view_functions["swagger_ui.show"])
