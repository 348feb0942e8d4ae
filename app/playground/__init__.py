"""The playground: a static page at / and /playground that tries the public API in a browser.

Everything it needs is in static/ (HTML, CSS, ES modules; no build step, no CDN), and every
request it makes goes to this service's own /api/v1, so it doubles as a worked example of the
API. It is a plain Flask blueprint, not an API blueprint: it stays out of the OpenAPI document.

Its responses (page and assets) carry a Content-Security-Policy that allows this origin only;
the one exception is `blob:` for media, since the page plays previews it fetched as blobs.
Swagger UI at /api/v1/docs keeps its own headers (it needs an inline script).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, send_from_directory

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/playground/static"

#: Only this origin: scripts, styles, fonts, fetches; media also from blob: (previews).
_POLICY = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    ("img-src", "'self' data:"),
    ("media-src", "'self' blob:"),
    ("connect-src", "'self'"),
    ("font-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)
CONTENT_SECURITY_POLICY = "; ".join(f"{directive} {sources}" for directive, sources in _POLICY)

blp = Blueprint("playground", __name__, static_folder="static", static_url_path=STATIC_URL)


@blp.route("/", methods=["GET"])
@blp.route("/playground", methods=["GET"])
def page() -> Response:
    """The playground page itself (static HTML; the scripts do the rest)."""
    response = send_from_directory(STATIC_DIR, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # the page is small; its assets revalidate
    response.headers.pop("Content-Disposition", None)  # a page, not a file to save
    return response


@blp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def init_app(app: Flask) -> None:
    """Serve the page at / and /playground and its files under /playground/static/."""
    app.register_blueprint(blp)
