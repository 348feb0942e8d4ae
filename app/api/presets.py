"""GET /presets and GET /presets/{preset_id}: the curated catalogue."""
from __future__ import annotations

from typing import Any

from app.api import ApiBlueprint
from app.schemas import PresetListSchema, PresetSchema
from app.service import job_service

blp = ApiBlueprint("presets", __name__, url_prefix="/api/v1", description="Curated presets")


@blp.route("/presets", methods=["GET"])
@blp.response(200, PresetListSchema)
def list_presets() -> dict[str, Any]:
    """All presets: id, name, description, tags, family, geometry params and suggested tempo."""
    return {"presets": [preset.to_dict() for preset in job_service.catalog]}


@blp.route("/presets/<string:preset_id>", methods=["GET"])
@blp.response(200, PresetSchema)
@blp.errors(404)
def get_preset(preset_id: str) -> dict[str, Any]:
    """One preset by id."""
    return job_service.catalog.get(preset_id).to_dict()
