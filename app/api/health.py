"""GET /healthz: liveness for load balancers and orchestrators."""
from __future__ import annotations

from typing import Any

from app.api import ApiBlueprint
from app.schemas import HealthSchema
from app.service import job_service
from engine.spec import ENGINE_VERSION

blp = ApiBlueprint("health", __name__, url_prefix="/api/v1", description="Service health")


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
def healthz() -> dict[str, Any]:
    """The service is up; which job store it uses and (Redis) whether that answers."""
    return {"status": "ok", "engine_version": ENGINE_VERSION, **job_service.health()}
