"""POST /generate, GET /jobs/{job_id}, GET /jobs/{job_id}/download."""
from __future__ import annotations

from typing import Any

from flask import Response

from app.api import ApiBlueprint
from app.api.files import send_download
from app.schemas import GenerateSchema, JobSchema
from app.service import COMPLETE, jobs

blp = ApiBlueprint("jobs", __name__, url_prefix="/api/v1", description="Generation jobs")

LOCATION = {"Location": {"description": "URL of the job", "schema": {"type": "string"}}}


@blp.route("/generate", methods=["POST"])
@blp.arguments(GenerateSchema)
@blp.response(202, JobSchema, headers=LOCATION, description=(
    "Accepted: the job is new, pending, processing, or a failed job queued again. "
    "Poll the Location."))
@blp.alt_response(200, schema=JobSchema, headers=LOCATION, success=True, description=(
    "The identical job already exists and is complete (with its download_url)."))
@blp.errors(400, 413, 422, 503)
def generate(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Submit a generation job; the same request always yields the same job."""
    job = jobs.submit(jobs.resolve(body))
    status = 200 if job.status == COMPLETE else 202
    return job.to_dict(), status, {"Location": f"/api/v1/jobs/{job.spec.id}"}


@blp.route("/jobs/<string:job_id>", methods=["GET"])
@blp.response(200, JobSchema)
@blp.errors(404)
def get_job(job_id: str) -> dict[str, Any]:
    """Poll a job: pending, processing, complete (with download_url) or failed (with error)."""
    return jobs.get(job_id).to_dict()


@blp.route("/jobs/<string:job_id>/download", methods=["GET"])
@blp.response(200, description="The generated file (supports Range, If-None-Match)", content_type="audio/wav")
@blp.alt_response(200, description="MP3", content_type="audio/mpeg", success=True)
@blp.alt_response(200, description="MIDI", content_type="audio/midi", success=True)
@blp.alt_response(206, description="Partial content (Range)", success=True)
@blp.alt_response(304, description="Not modified (If-None-Match)", success=True)
@blp.alt_response(416, description="Range not satisfiable")
@blp.errors(404, 409)
def download(job_id: str) -> Response:
    """Download the finished file: audio/wav, audio/mpeg or audio/midi."""
    return send_download(jobs.open_download(job_id))
