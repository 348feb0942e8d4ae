"""The playground page as files and headers: served at / and /playground, self-only CSP,
nothing from outside, no inline code, and kept out of the API (OpenAPI, JSON 404s).

What the page does in a browser is tested in test_playground_browser.py.
"""
from __future__ import annotations

import configparser
import fnmatch
import pathlib
import re

import pytest

from app.playground import CONTENT_SECURITY_POLICY, STATIC_DIR

ROOT = pathlib.Path(__file__).resolve().parents[2]
FILES = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file())
TYPES = {".html": "text/html", ".css": "text/css", ".js": "javascript", ".svg": "image/svg+xml"}
#: Namespace names are identifiers, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg"}


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


@pytest.mark.parametrize("path", ["/", "/playground"])
def test_page_is_served_with_a_self_only_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<title>Resonant playground</title>" in response.get_data(as_text=True)
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    for directive, sources in policy.items():
        # Only this origin; blob: for media (previews are fetched, then played), data: images.
        allowed = {"'self'", "'none'"} | {"media-src": {"blob:"}, "img-src": {"data:"}}.get(directive, set())
        assert set(sources) <= allowed, (directive, sources)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("file", FILES, ids=lambda p: p.relative_to(STATIC_DIR).as_posix())
def test_each_static_file_is_served_with_its_type_and_the_policy(client, file):
    response = client.get(f"/playground/static/{file.relative_to(STATIC_DIR).as_posix()}")
    assert response.status_code == 200
    assert TYPES[file.suffix] in response.content_type
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.data == file.read_bytes()


def test_nothing_is_fetched_from_outside_and_nothing_is_inline():
    html = (STATIC_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script (the CSP forbids it)"
    assert "<style" not in html and not re.search(r"\sstyle=", html), "inline style (the CSP forbids it)"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler (the CSP forbids it)"
    for file in FILES:
        text = file.read_text()
        for url in re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'<>)]*", text, re.IGNORECASE):
            assert url in NAMESPACES, f"{file.name} refers to an outside URL: {url}"
        assert "@import url(http" not in text and "fonts.googleapis" not in text


def test_every_referenced_asset_exists(client):
    html = (STATIC_DIR / "index.html").read_text()
    refs = re.findall(r"""(?:src|href)=["'](/playground/static/[^"']+)["']""", html)
    for js in STATIC_DIR.glob("js/*.js"):
        refs += [f"/playground/static/js/{name}" for name in re.findall(r'from "\./([^"]+)"', js.read_text())]
    assert len(refs) >= 6
    for ref in refs:
        assert client.get(ref).status_code == 200, ref


def test_the_page_is_not_part_of_the_api(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert all(p.startswith("/api/v1/") for p in paths)
    assert "/" not in paths and "/playground" not in paths
    for path in ("/nope", "/playground/nope", "/playground/static/nope.js"):
        response = client.get(path)
        assert response.status_code == 404 and response.json == {"detail": "Not found"}
    assert client.post("/").status_code == 405


def test_swagger_ui_keeps_its_own_headers(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200 and "Content-Security-Policy" not in response.headers


def test_static_files_are_package_data():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["app.playground"].split(",")]
    package = STATIC_DIR.parent
    for file in FILES:
        relative = file.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
