"""GET /styles and GET /styles/{style_id}: the idioms a piece can play in (engine/data/styles.yaml)."""
from __future__ import annotations

from typing import Any

from app.api import ApiBlueprint
from app.errors import NotFound
from app.schemas import StyleListSchema, StyleSchema
from engine.styles import style_catalog

blp = ApiBlueprint("styles", __name__, url_prefix="/api/v1", description="Styles: the idioms pieces play in")


@blp.route("/styles", methods=["GET"])
@blp.response(200, StyleListSchema)
def list_styles() -> dict[str, Any]:
    """All styles: id, name, description, meter, feel, swing, tempo range, instruments, drums."""
    return {"styles": [style.summary() for style in style_catalog()]}


@blp.route("/styles/<string:style_id>", methods=["GET"])
@blp.response(200, StyleSchema)
@blp.errors(404)
def get_style(style_id: str) -> dict[str, Any]:
    """One style by id."""
    catalog = style_catalog()
    if style_id not in catalog:
        raise NotFound(f"Unknown style '{style_id}'")
    return catalog.get(style_id).summary()
