"""POST /preview: a 5-second clip of the same request, rendered synchronously and cached."""
from __future__ import annotations

from typing import Any

from flask import Response

from app.api import BINARY, ApiBlueprint
from app.api.files import send_download
from app.schemas import GenerateSchema
from app.service import job_service

blp = ApiBlueprint("preview", __name__, url_prefix="/api/v1", description="Synchronous previews")


@blp.route("/preview", methods=["POST"])
@blp.arguments(GenerateSchema)
@blp.response(200, BINARY, description="Exactly 5 s of audio in the requested format", content_type="audio/wav")
@blp.alt_response(200, schema=BINARY, description="MP3", content_type="audio/mpeg", success=True)
@blp.alt_response(200, schema=BINARY, description="MIDI", content_type="audio/midi", success=True)
@blp.alt_response(200, schema=BINARY, description="Stems ZIP", content_type="application/zip", success=True)
@blp.errors(400, 413, 422, 503)
def preview(body: dict[str, Any]) -> Response:
    """Render a 5-second preview (duration_seconds and callback_url are ignored) and return the file itself."""
    return send_download(job_service.preview(job_service.resolve(body)), conditional=False)
